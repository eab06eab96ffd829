// Typed usage of the Registry, holders, status, plan and reserve (ESM);
// checked with `tsc --noEmit` (never run).
import {
  Registry,
  describeBusy,
  plan,
  port4me,
  port4meAsync,
  status,
  whoHolds,
  type GcReport,
  type Holder,
  type Offer,
  type Plan,
  type PlanConflictError,
  type PortRange,
  type PortStatus,
  type Port4meError,
  type Registration,
  type RegistryErrorCode,
  type ServicePort,
} from 'port4me';

const registry = new Registry('/tmp/ports.sqlite');
const byDefault = new Registry();
const file: string = registry.path;
const closed: boolean = registry.closed;
const range: PortRange = registry.allocate(3, 'web');
const udp: PortRange = registry.allocate(2, 'dns', 'udp', { keepExisting: true });
const kept: PortRange = registry.allocate(2, 'web', { keepExisting: true });
const released: PortRange[] = registry.deallocate('web', 'tcp');
const service = registry.defineService('db', 'databases', 30000, 30009, { force: false, protocol: 'tcp' });
const serviceStart: number = service.start;
const offer: Offer = registry.offer('db', 'replica-1');
const expires: Date = offer.expires;
const accepted: ServicePort = registry.accept(offer.secret);
const state: 'offered' | 'allocated' = accepted.state;
const acceptedExpires: Date | null = accepted.expires;
const rejected: ServicePort = registry.reject(offer.secret);
const reg: Registration = registry.register('web');
const pid: number = reg.pid;
const created: Date = reg.created;
const again: Registration = registry.release(reg.name);
const all: Registration[] = registry.list();
const mine: Registration[] = registry.find({ service: 'web', beginswith: 'web_', user: 'alice' });
const gc: GcReport = registry.gc();
registry.close();
byDefault.close();

try {
  registry.offer('db', 'replica-1');
} catch (err) {
  const e = err as Port4meError;
  const code: RegistryErrorCode | string = e.code;
  if (e.code === 'ERR_PORT4ME_REGISTRY_UNKNOWN_SERVICE' || e.code === 'ERR_PORT4ME_REGISTRY_CLOSED') console.error(code);
}

const reserved: number = port4me({ tool: 'vite', reserve: true });
const reservedLonger: Promise<number> = port4meAsync({ tool: 'vite', reserve: 120 });

const holders: Holder[] = whoHolds(5173, { protocol: 'tcp' });
const first = holders[0];
const holderPid: number | undefined = first?.processes[0]?.pid;
const one: PortStatus = status(5173);
const many: PortStatus[] = status([5173, 3000], { protocol: 'udp', registry: false });
const label: string = one.label;
const p: Plan = plan({ web: 5173, api: 3000 }, { strategy: 'alternative', user: 'alice' });
const fromMap: Plan = plan(new Map([['web', 5173]]), { strategy: 'kill', force: true, graceMs: 1000 });
const fromPairs: Plan = plan([['web', 5173], ['api', 3000]]);
const webPort: number | null | undefined = p.services[0]?.port;
try {
  plan({ web: 5173 }, { strategy: 'fail' });
} catch (err) {
  const e = err as PlanConflictError;
  if (e.code === 'ERR_PORT4ME_PLAN_CONFLICT') console.error(e.plan.services.map((s) => s.conflict?.message));
}
const sentence: string | null = describeBusy(5173, { protocol: 'tcp' });

export {
  file, closed, range, udp, kept, released, serviceStart, expires, state, acceptedExpires, rejected, pid, created,
  again, all, mine, gc, reserved, reservedLonger, holderPid, many, label, fromMap, fromPairs, webPort, sentence,
};
