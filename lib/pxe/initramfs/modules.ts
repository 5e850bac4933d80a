/**
 * Which kernel module files an initramfs needs, and in which order `insmod` must load
 * them, computed from depmod's `modules.dep` (busybox's insmod resolves nothing itself).
 */

export interface ModuleIndex {
  /** Module path relative to /lib/modules/<version> → the paths it depends on. */
  readonly dependencies: ReadonlyMap<string, readonly string[]>;
  /** Names of modules compiled into the kernel (from modules.builtin): nothing to load. */
  readonly builtin: ReadonlySet<string>;
}

/** `kernel/drivers/net/ethernet/intel/e1000/e1000.ko.xz` → `e1000`; `-` and `_` are the same to the kernel. */
export function moduleName(path: string): string {
  const file = path.split("/").pop() ?? path;
  return file.replace(/\.ko(\.(xz|zst|gz))?$/, "").replace(/-/g, "_");
}

export function parseModuleIndex(modulesDep: string, modulesBuiltin = ""): ModuleIndex {
  const dependencies = new Map<string, readonly string[]>();
  for (const line of modulesDep.split("\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    dependencies.set(
      line.slice(0, colon).trim(),
      line
        .slice(colon + 1)
        .trim()
        .split(/\s+/)
        .filter(Boolean),
    );
  }
  const builtin = new Set(
    modulesBuiltin
      .split("\n")
      .map((line) => line.trim())
      .filter(Boolean)
      .map(moduleName),
  );
  return { dependencies, builtin };
}

/**
 * Module paths to load, dependencies first, each once. Built-in modules are skipped; a name
 * that is neither a module nor built in is an error naming the kernel version to check.
 */
export function moduleLoadOrder(index: ModuleIndex, names: readonly string[], kernelVersion: string): string[] {
  const pathByName = new Map([...index.dependencies.keys()].map((path) => [moduleName(path), path]));
  const order: string[] = [];
  const visit = (path: string, trail: readonly string[]) => {
    if (order.includes(path)) return;
    if (trail.includes(path)) throw new Error(`kernel ${kernelVersion}: modules.dep has a dependency cycle through ${[...trail, path].join(" → ")}`);
    for (const dependency of index.dependencies.get(path) ?? []) visit(dependency, [...trail, path]);
    order.push(path);
  };
  for (const name of names) {
    const normalised = name.replace(/-/g, "_");
    const path = pathByName.get(normalised);
    if (path) visit(path, []);
    else if (!index.builtin.has(normalised)) {
      throw new Error(
        `kernel ${kernelVersion} has no module "${name}" (not in modules.dep or modules.builtin); check the name or use a kernel that provides it`,
      );
    }
  }
  return order;
}
