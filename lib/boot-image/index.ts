export * from "./build";
export * from "./build-record";
export * from "./plan";
export * from "./spec";
export * from "./toolchain";
export * from "./file-hashes";
