export * from "./boot-files";
export * from "./boot-tree";
export * from "./errors";
export * from "./schema";
export * from "./stack-config";
export * from "./validate";
