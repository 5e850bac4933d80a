/**
 * The result of `netboot-lab check`: one row per client and check, and how it prints. The JSON
 * form (`--json`) is the report object itself; README.md documents it, and `version` changes
 * whenever a field changes meaning.
 */

export const CHECK_REPORT_VERSION = 1;

export type CheckStatus = "pass" | "fail" | "skip";

/** What a row checks: the protocol, then the thing checked (`dhcp pxe`, `tftp linux-ipxe/undionly.kpxe`, `nfs v3`). */
export type CheckKind = "dhcp" | "tftp" | "http" | "nfs" | "mkext";

export interface CheckRow {
  /** Client name; `(unknown)` for the undeclared-MAC check. */
  readonly client: string;
  readonly mac: string;
  readonly kind: CheckKind;
  /** dhcp: `pxe`, `ipxe`, `netbsd-libsa`, `bootp`, `unknown-mac`; tftp/http: the boot-tree path; nfs: `v3`, `v4`; mkext: `nic`. */
  readonly subject: string;
  readonly status: CheckStatus;
  /** What was seen (pass), or what is wrong (fail), in one sentence. */
  readonly detail: string;
  /** What to do about a failure. */
  readonly fix?: string;
}

export interface CheckReport {
  readonly version: typeof CHECK_REPORT_VERSION;
  readonly stack: string;
  readonly serverAddress: string;
  /** True exactly when no row failed; the CLI exits 0 then. */
  readonly ok: boolean;
  readonly rows: readonly CheckRow[];
}

export function checkReport(stack: string, serverAddress: string, rows: readonly CheckRow[]): CheckReport {
  return { version: CHECK_REPORT_VERSION, stack, serverAddress, ok: rows.every((row) => row.status !== "fail"), rows };
}

const STATUS_LABEL: Record<CheckStatus, string> = { pass: "ok", fail: "FAIL", skip: "skip" };

/** The table users read: client, check, result, then the detail and (for failures) the fix. */
export function formatCheckReport(report: CheckReport): string {
  const checkName = (row: CheckRow) => `${row.kind.toUpperCase()} ${row.subject}`;
  const clientWidth = Math.max(6, ...report.rows.map((row) => row.client.length));
  const checkWidth = Math.max(5, ...report.rows.map((row) => checkName(row).length));
  const lines = [`netboot-lab check: stack ${report.stack}, servers at ${report.serverAddress}`, ""];
  lines.push(`${"client".padEnd(clientWidth)}  ${"check".padEnd(checkWidth)}  result  detail`);
  for (const row of report.rows) {
    lines.push(`${row.client.padEnd(clientWidth)}  ${checkName(row).padEnd(checkWidth)}  ${STATUS_LABEL[row.status].padEnd(6)}  ${row.detail}`);
    if (row.fix) lines.push(`${" ".repeat(clientWidth + checkWidth + 12)}fix: ${row.fix}`);
  }
  const failed = report.rows.filter((row) => row.status === "fail").length;
  lines.push("", failed ? `${failed} of ${report.rows.length} checks failed` : `all ${report.rows.length} checks passed`);
  return `${lines.join("\n")}\n`;
}
