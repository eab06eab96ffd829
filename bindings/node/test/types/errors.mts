// Things the types must reject; each line carries @ts-expect-error, so tsc
// fails if the declarations ever become too loose.
import { Registry, isPortFree, list, plan, port4me, status, waitForPort, whoHolds, type Port4meErrorCode } from 'port4me';
import port4mePlugin from 'port4me/vite';

// @ts-expect-error a number is not a tool name
port4me(5);
// @ts-expect-error unknown option
port4me({ exlude: [80] });
// @ts-expect-error ports are numbers or strings
port4me({ exclude: [true] });
// @ts-expect-error n belongs to list()
port4me({ n: 3 });
// @ts-expect-error skip is a number
list({ skip: '2' });
// @ts-expect-error the port is a number
isPortFree('80');
// @ts-expect-error unknown option
waitForPort(80, { timeout: 5 });
// @ts-expect-error log is a boolean
port4mePlugin({ log: 'yes' });
// @ts-expect-error reserve belongs to port4me() and port4meAsync()
list({ reserve: true });
// @ts-expect-error reserve is a boolean or seconds
port4me({ reserve: 'yes' });
// @ts-expect-error n is a number
new Registry().allocate('3', 'web');
// @ts-expect-error unknown option
new Registry().allocate(3, 'web', { keep: true });
// @ts-expect-error secrets are strings
new Registry().accept(42);
// @ts-expect-error the port is a number
whoHolds('80');
// @ts-expect-error a status of one port is not an array
const notMany: unknown[] = status(80);
// @ts-expect-error preferred ports are numbers
plan({ web: '5173' });
// @ts-expect-error unknown strategy option
plan({ web: 5173 }, { grace: 5 });
// @ts-expect-error not a code of this package
const misspelt: Port4meErrorCode = 'ERR_PORT4ME_NATIVE_REQUIRE';
// @ts-expect-error a signal is an AbortSignal, not any object with `aborted`
waitForPort(80, { signal: { aborted: false } });
