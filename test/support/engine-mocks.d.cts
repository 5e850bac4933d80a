import type * as pulumi from "@pulumi/pulumi";

export interface PulumiProject {
  readonly name: string;
  readonly stackConfigDir: string;
}

export function readProject(projectDir: string): PulumiProject;
export function mergeConfig(base: Record<string, unknown>, overrides: Record<string, unknown>): Record<string, unknown>;
export function engineConfig(config: Record<string, unknown>, projectName: string): Record<string, string>;
export function mockResource(args: pulumi.runtime.MockResourceArgs, dynamicState?: Record<string, unknown>): pulumi.runtime.MockResourceResult;
