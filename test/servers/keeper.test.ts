import { describe, expect, it } from "vitest";
import { joinsPod, keeperActionKey, keeperActions, type KeptContainer } from "../../lib/servers/keeper";

const POD_STARTED = "2026-12-02T07:34:12.976Z";
const pod: KeptContainer = { id: "a1b2c3", name: "nbl-kvm-pod", networkMode: "nbl-kvm", status: "running", startedAt: POD_STARTED, error: "" };
const daemon = (name: string, state: Partial<KeptContainer>): KeptContainer => ({
  id: `${name}-id`,
  name,
  networkMode: "container:a1b2c3",
  status: "running",
  startedAt: "2026-12-02T07:34:13.500Z",
  error: "",
  ...state,
});
const failedStart = { status: "exited", startedAt: "2026-12-02T07:33:58.000Z", error: "cannot join network of a non running container: a1b2c3" } as const;

describe("the keeper", () => {
  it("starts a daemon whose start failed while its pod was down, once the pod runs", () => {
    const dhcpd = daemon("nbl-kvm-dhcpd", failedStart);
    expect(keeperActions(pod, [dhcpd], new Set())).toEqual([
      { action: "start", container: dhcpd, reason: `its last start failed (${failedStart.error}); nbl-kvm-pod is running now` },
    ]);
    expect(keeperActions({ ...pod, status: "exited" }, [dhcpd], new Set())).toEqual([]);
  });

  it("restarts a daemon that runs since before the pod's current start, in the pod's old namespace", () => {
    const tftp = daemon("nbl-kvm-tftp", { startedAt: "2026-12-02T07:30:00.000Z" });
    expect(keeperActions(pod, [tftp], new Set()).map(({ action, container }) => [action, container.name])).toEqual([["restart", "nbl-kvm-tftp"]]);
  });

  it("leaves alone what is fine or what a user did: daemons started after the pod, stopped by docker stop, restarting by their policy, never started", () => {
    const daemons = [
      daemon("running", {}),
      daemon("stopped-by-user", { status: "exited", startedAt: "2026-12-02T07:30:00.000Z" }),
      daemon("restarting", { status: "restarting", startedAt: "2026-12-02T07:30:00.000Z" }),
      daemon("created", { status: "created", startedAt: "0001-01-01T00:00:00Z" }),
    ];
    expect(keeperActions(pod, daemons, new Set())).toEqual([]);
  });

  it("acts on a daemon once per start of its pod, so one that fails for a reason of its own is not started in a loop", () => {
    const dhcpd = daemon("nbl-kvm-dhcpd", failedStart);
    const done = new Set([keeperActionKey(dhcpd, pod)]);
    expect(keeperActions(pod, [dhcpd], done)).toEqual([]);
    expect(keeperActions({ ...pod, startedAt: "2026-12-02T08:00:00.000Z" }, [dhcpd], done)).toHaveLength(1);
  });

  it("keeps only the containers that join this pod, by its id or its name", () => {
    expect(joinsPod({ networkMode: "container:a1b2c3" }, pod)).toBe(true);
    expect(joinsPod({ networkMode: "container:nbl-kvm-pod" }, pod)).toBe(true);
    expect(joinsPod({ networkMode: "container:other-pod" }, pod)).toBe(false);
    expect(joinsPod({ networkMode: "bridge" }, pod)).toBe(false);
    expect(keeperActions(pod, [daemon("other-lab", { ...failedStart, networkMode: "container:ffffff" })], new Set())).toEqual([]);
  });
});
