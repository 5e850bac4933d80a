export * from "./boot-files";
export * from "./errors";
export * from "./schema";
export * from "./stack-config";
export * from "./validate";
