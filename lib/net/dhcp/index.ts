export * from "./options";
export * from "./packet";
export * from "./request";
export * from "./client";
