// Lint rules that catch bugs, not style (Prettier owns the layout): typescript-eslint's
// recommended set everywhere, and Pulumi's rules, which need type information, where Outputs live.
import js from "@eslint/js";
import pulumi from "@pulumi/eslint-plugin";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", ".pulumi-state/", "test/**/fixtures/**/node_modules/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.cjs"],
    languageOptions: {
      sourceType: "commonjs",
      globals: { require: "readonly", module: "writable", process: "readonly", __dirname: "readonly", console: "readonly" },
    },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    // Dynamic providers are serialized into the stack's state and run by the engine in another
    // process: they load packages with require() inside each method, never through imports
    // (lib/docker-engine.ts too: the BootImageBuild provider is serialized with it).
    files: ["components/client/qemu-process.ts", "components/client/vmx-bundle.ts", "components/boot-image/build-provider.ts", "lib/docker-engine.ts"],
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    files: ["**/*.mjs"],
    languageOptions: { globals: { process: "readonly", console: "readonly" } },
  },
  {
    // An Output inside a template string renders as a warning text instead of its value: use pulumi.interpolate.
    files: ["index.ts", "components/**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { pulumi },
    rules: {
      "pulumi/no-output-in-template-literal": "error",
      "pulumi/no-output-instance-in-template-literal": "error",
    },
  },
);
