// Things the types must reject; each line carries @ts-expect-error, so tsc
// fails if the declarations ever become too loose.
import { isPortFree, list, port4me, waitForPort } from 'port4me';
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
