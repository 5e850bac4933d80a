export * from "./boot-files";
export * from "./boot-tree";
export * from "./bsdp";
export * from "./errors";
export * from "./probe-address";
export * from "./schema";
export * from "./stack-config";
export * from "./validate";
