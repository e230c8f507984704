// The registry kinds the administration page edits: their fields, value sets and list columns, so the
// form needs no JSON. Field names and value codes are contracts/registry.py's and contracts/vocabulary.py's.
import { t } from "./common.js";
import { label } from "./i18n.js";

// Value sets: the platform's codes (contracts/vocabulary.py); labels from i18n.js or from this page's strings.
export const SETS = {
  tier: ["city", "district", "town", "village"],
  station_kind: ["deputies_home", "town_center", "village_station", "workroom"],
  congress_level: ["province", "city", "district", "town"],
  grid_role: ["grid_leader", "grid_member"],
  handler_kind: ["district_department", "town_office", "city_department"],
  role: ["station_liaison", "station_head", "town_staff", "district_staff", "handler", "deputy", "leader", "oversight", "admin"],
  gender: ["male", "female"],
  category: [
    "serious_illness_aid", "medical_insurance", "water_supply", "roads_and_landslides", "sanitation",
    "neighbour_disputes", "hardship", "industry_loans", "schooling", "employment", "other",
  ],
  weekday: [1, 2, 3, 4, 5, 6, 7],
};
const SHARED_SETS = new Set(["tier", "role", "category"]);

export function valueLabel(set, code) {
  return SHARED_SETS.has(set) ? label(set, code) : t(`adm.v.${set}.${code}`);
}

// A field: name, label key, type (text | choice | ref | many | list | days | bool), set, ref list, required.
const f = (name, type = "text", more = {}) => ({ name, type, label: `adm.f.${name}`, ...more });
const CODE = f("code", "text", { required: true });
const NAME = f("name", "text", { required: true });
const PHONE = f("phone", "text", { input: "tel" });

export const KINDS = {
  units: {
    fields: [CODE, NAME, f("tier", "choice", { set: "tier", required: true }), f("parent_code", "ref", { ref: "units" })],
    columns: ["code", "name", "tier", "parent_code"], choice: "tier", parent: "parent_code",
  },
  stations: {
    fields: [
      CODE, NAME, f("kind", "choice", { set: "station_kind", required: true }),
      f("unit_code", "ref", { ref: "units", required: true }), f("site"), f("address"), PHONE,
    ],
    columns: ["code", "name", "kind", "unit_code"], choice: "kind", parent: "unit_code",
  },
  deputies: {
    fields: [
      CODE, { ...NAME, label: "adm.f.person" }, f("congress_level", "choice", { set: "congress_level", required: true }),
      f("station_code", "ref", { ref: "stations", required: true, label: "adm.f.group_station" }), PHONE,
      f("gender", "choice", { set: "gender" }), f("occupation"),
    ],
    columns: ["code", "name", "congress_level", "station_code"], choice: "congress_level", parent: "station_code",
  },
  grids: {
    fields: [CODE, NAME, f("village_code", "ref", { ref: "units", required: true })],
    columns: ["code", "name", "village_code"], parent: "village_code",
  },
  "grid-roles": {
    fields: [
      CODE, f("grid_code", "text", { required: true }), f("role", "choice", { set: "grid_role", required: true }),
      { ...NAME, label: "adm.f.person" }, PHONE, f("deputy_code"),
    ],
    columns: ["code", "name", "role", "grid_code"], choice: "role", parent: "grid_code",
  },
  handlers: {
    fields: [
      CODE, NAME, f("kind", "choice", { set: "handler_kind", required: true }),
      f("unit_code", "ref", { ref: "units", required: true }), f("categories", "many", { set: "category" }), PHONE,
      f("superior"),
    ],
    columns: ["code", "name", "kind", "unit_code"], choice: "kind", parent: "unit_code",
  },
  leaders: {
    fields: [
      CODE, { ...NAME, label: "adm.f.person" }, f("title"),
      f("unit_code", "ref", { ref: "units", required: true, label: "adm.f.charge_unit" }), PHONE,
    ],
    columns: ["code", "name", "title", "unit_code"], parent: "unit_code",
  },
  receptions: {
    fields: [
      CODE, f("station_code", "ref", { ref: "stations", required: true }), f("deputy_codes", "list", { required: true }),
      f("days_of_month", "days"), f("weekdays", "many", { set: "weekday" }), f("note"),
    ],
    columns: ["code", "station_code", "days_of_month", "weekdays"], parent: "station_code",
  },
  users: {
    fields: [
      { ...CODE, label: "adm.f.login" }, { ...NAME, label: "adm.f.person" }, f("role", "choice", { set: "role", required: true }),
      f("unit_code", "ref", { ref: "units" }), f("handler_code", "ref", { ref: "handlers" }), f("deputy_code"), PHONE,
      f("active", "bool"),
    ],
    columns: ["code", "name", "role", "unit_code"], choice: "role", parent: "unit_code",
  },
};
export const FIRST_COLUMN_NAME = { units: "adm.f.code", users: "adm.f.login" };
export const KIND_OF_ENTITY = {
  admin_unit: "units", station: "stations", deputy: "deputies", grid: "grids", grid_role: "grid-roles",
  handler: "handlers", leader: "leaders", reception: "receptions", user: "users",
};
