"""Running the platform: topic creation, the embedded launcher, container images."""
