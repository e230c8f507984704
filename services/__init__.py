"""The platform's services; none imports another (shared code lives in contracts/ and common/)."""
