// Typed usage of the Registry, holders, status, plan and reserve (ESM);
// checked with `tsc --noEmit` (never run). What the API returns is checked
// exactly (Checks, at the end): `any` fails.
import {
  Registry,
  describeBusy,
  plan,
  port4me,
  port4meAsync,
  status,
  whoHolds,
  type GcReport,
  type AllocateOptions,
  type Holder,
  type HoldingKind,
  type Lease,
  type MirrorRow,
  type ModuleRange,
  type Offer,
  type Plan,
  type PlanConflictError,
  type PlanStrategy,
  type Reservation,
  type ShowServiceOptions,
  type PortRange,
  type PortStatus,
  type Port4meError,
  type Port4meErrorCode,
  type Registration,
  type RegistryErrorCode,
  type RegistryLeases,
  type RegistryListing,
  type RegistryModules,
  type RegistryRegistrations,
  type RegistryServices,
  type Service,
  type ServicePort,
  type ServiceWithPorts,
} from 'port4me';
import type { Equal, Expect } from './expect.mjs';

const registry = new Registry('/tmp/ports.sqlite');
const byDefault = new Registry();
const file = registry.path;
const closed = registry.closed;
const range = registry.modules.allocate(3, 'web');
const udp = registry.modules.allocate(2, 'dns', 'udp', { keepExisting: true });
const kept = registry.modules.allocate(2, 'web', { keepExisting: true });
const released = registry.modules.release('web', 'tcp');
const forced = registry.modules.release('web', { force: true });
const modules = registry.modules.list('udp');
const service = registry.services.define('db', 'databases', 30000, 30009, { force: false, protocol: 'tcp' });
const serviceStart = service.start;
const offer = registry.services.offer('db', 'replica-1');
const expires = offer.expires;
const accepted = registry.services.accept(offer.secret);
const state = accepted.state;
const acceptedExpires = accepted.expires;
const rejected = registry.services.reject(offer.secret);
const instanceReleased = registry.services.release('db', 'replica-1', { force: true });
const services = registry.services.list();
const shown = registry.services.show('db', { instance: 'replica-1' });
const undefined_ = registry.services.undefine('db', { force: true });
const reg = registry.registrations.register('web');
const pid = reg.pid;
const created = reg.created;
const again = registry.registrations.release(reg.name);
const registrations = registry.registrations.list();
const mine = registry.registrations.find({ service: 'web', beginswith: 'web_', user: 'alice' });
const leases = registry.leases.list();
const leaseReleased = registry.leases.release(5173, 'tcp');
const leasePid = leases[0]?.pid;
const all = registry.list();
const gc = registry.gc();
const closedResult = registry.close();
byDefault.close();

try {
  registry.services.offer('db', 'replica-1');
} catch (err) {
  const e = err as Port4meError;
  const code: RegistryErrorCode | string = e.code;
  if (e.code === 'ERR_PORT4ME_REGISTRY_UNKNOWN_SERVICE' || e.code === 'ERR_PORT4ME_REGISTRY_CLOSED') console.error(code);
}

const reserved = port4me({ tool: 'vite', reserve: true });
const reservedLonger = port4meAsync({ tool: 'vite', reserve: 120 });

const holders = whoHolds(5173, { protocol: 'tcp' });
const first = holders[0];
const holderPid = first?.processes[0]?.pid;
const one = status(5173);
const many = status([5173, 3000], { protocol: 'udp', registry: false });
const label = one.label;
const p = plan({ web: 5173, api: 3000 }, { strategy: 'alternative', user: 'alice' });
const fromMap = plan(new Map([['web', 5173]]), { strategy: 'kill', force: true, graceMs: 1000 });
const fromPairs = plan([['web', 5173], ['api', 3000]]);
const webPort = p.services[0]?.port;
const conflictMessages = (e: PlanConflictError) => e.plan.services.map((s) => s.conflict?.message);
try {
  plan({ web: 5173 }, { strategy: 'fail' });
} catch (err) {
  const e = err as PlanConflictError;
  if (e.code === 'ERR_PORT4ME_PLAN_CONFLICT') console.error(conflictMessages(e));
}
const sentence = describeBusy(5173, { protocol: 'tcp' });

export type Checks = [
  Expect<Equal<typeof file, string>>,
  Expect<Equal<typeof closed, boolean>>,
  Expect<Equal<typeof range, PortRange>>,
  Expect<Equal<typeof range.start, number>>,
  Expect<Equal<typeof udp, PortRange>>,
  Expect<Equal<typeof kept, PortRange>>,
  Expect<Equal<typeof released, PortRange[]>>,
  Expect<Equal<typeof forced, PortRange[]>>,
  Expect<Equal<typeof modules, ModuleRange[]>>,
  Expect<Equal<typeof service, Service>>,
  Expect<Equal<typeof serviceStart, number>>,
  Expect<Equal<typeof offer, Offer>>,
  Expect<Equal<typeof offer.secret, string>>,
  Expect<Equal<typeof expires, string>>,
  Expect<Equal<typeof accepted, ServicePort>>,
  Expect<Equal<typeof state, 'offered' | 'allocated'>>,
  Expect<Equal<typeof acceptedExpires, string | null>>,
  Expect<Equal<typeof rejected, ServicePort>>,
  Expect<Equal<typeof instanceReleased, ServicePort>>,
  Expect<Equal<typeof services, ServiceWithPorts[]>>,
  Expect<Equal<typeof shown, ServicePort[]>>,
  Expect<Equal<typeof undefined_, ServiceWithPorts>>,
  Expect<Equal<typeof undefined_.ports, ServicePort[]>>,
  Expect<Equal<typeof reg, Registration>>,
  Expect<Equal<typeof pid, number>>,
  Expect<Equal<typeof created, string>>,
  Expect<Equal<typeof again, Registration>>,
  Expect<Equal<typeof registrations, Registration[]>>,
  Expect<Equal<typeof leases, Lease[]>>,
  Expect<Equal<typeof leaseReleased, boolean>>,
  Expect<Equal<typeof leasePid, number | null | undefined>>,
  Expect<Equal<typeof all, RegistryListing>>,
  Expect<Equal<typeof all.modules, ModuleRange[]>>,
  Expect<Equal<typeof all.services, ServiceWithPorts[]>>,
  Expect<Equal<typeof all.registrations, Registration[]>>,
  Expect<Equal<typeof all.leases, Lease[]>>,
  Expect<Equal<typeof all.mirrors, MirrorRow[]>>,
  Expect<Equal<MirrorRow['mirrors'], HoldingKind>>,
  Expect<Equal<HoldingKind, 'module' | 'service' | 'offer' | 'allocation' | 'registration' | 'lease'>>,
  Expect<Equal<typeof registry.modules, RegistryModules>>,
  Expect<Equal<typeof registry.services, RegistryServices>>,
  Expect<Equal<typeof registry.registrations, RegistryRegistrations>>,
  Expect<Equal<typeof registry.leases, RegistryLeases>>,
  // The generated declarations (generated.d.cts, from the Rust definitions).
  Expect<Equal<Registration['created'], string>>,
  Expect<Equal<Registration['pidStart'], number>>,
  Expect<Equal<Registration['ownerState'], 'alive' | 'unverified' | 'elsewhere' | 'unknown' | 'gone'>>,
  Expect<Equal<Registration['protocol'], 'tcp' | 'udp'>>,
  Expect<Equal<Lease['pid'], number | null>>,
  Expect<Equal<ServicePort['uid'], number | null>>,
  Expect<Equal<GcReport, { registrations: number; leases: number; offers: number }>>,
  Expect<Equal<AllocateOptions, { keepExisting?: boolean }>>,
  Expect<Equal<ShowServiceOptions, { instance?: string; port?: number }>>,
  Expect<Equal<Holder['description'], string>>,
  Expect<Equal<Holder['inode'], number>>,
  Expect<Equal<PortStatus['reserved'], Reservation | null>>,
  Expect<Equal<Plan['strategy'], PlanStrategy>>,
  Expect<Equal<PlanStrategy, 'alternative' | 'fail' | 'kill'>>,
  Expect<Equal<typeof mine, Registration[]>>,
  Expect<Equal<typeof gc, GcReport>>,
  Expect<Equal<typeof closedResult, void>>,
  // Registry codes are codes of this package.
  Expect<Equal<Extract<Port4meErrorCode, RegistryErrorCode>, RegistryErrorCode>>,
  Expect<Equal<PlanConflictError['code'], 'ERR_PORT4ME_PLAN_CONFLICT'>>,
  Expect<Equal<typeof reserved, number>>,
  Expect<Equal<typeof reservedLonger, Promise<number>>>,
  Expect<Equal<typeof holders, Holder[]>>,
  Expect<Equal<typeof holderPid, number | undefined>>,
  Expect<Equal<typeof one, PortStatus>>,
  Expect<Equal<typeof many, PortStatus[]>>,
  Expect<Equal<typeof label, 'free' | 'occupied' | 'blocked' | 'reserved' | 'unknown' | 'unsafe'>>,
  Expect<Equal<typeof p, Plan>>,
  Expect<Equal<typeof fromMap, Plan>>,
  Expect<Equal<typeof fromPairs, Plan>>,
  Expect<Equal<typeof webPort, number | null | undefined>>,
  Expect<Equal<ReturnType<typeof conflictMessages>, (string | undefined)[]>>,
  Expect<Equal<typeof sentence, string | null>>,
];

export {
  file, closed, range, udp, kept, released, serviceStart, expires, state, acceptedExpires, rejected, pid, created,
  again, all, mine, gc, forced, modules, instanceReleased, services, shown, undefined_, registrations, leaseReleased, reserved, reservedLonger, holderPid, many, label, fromMap, fromPairs, webPort, sentence,
};
