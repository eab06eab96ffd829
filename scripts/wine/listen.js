// Listens on TCP 0.0.0.0, TCP [::1] and UDP 127.0.0.1 on one port, then
// writes "pid port" to the file given and waits until that file is removed.
const net = require('net'), dgram = require('dgram'), fs = require('fs');
const out = process.argv[2];
const a = net.createServer().listen(0, '0.0.0.0', () => {
  const port = a.address().port;
  const done = (v6) => {
    const u = dgram.createSocket('udp4');
    u.bind(port, '127.0.0.1', () => fs.writeFileSync(out, `${process.pid} ${port} ${v6}\n`));
  };
  net.createServer().listen(port, '::1', () => done('v6')).on('error', () => done('no-v6'));
});
setInterval(() => { if (!fs.existsSync(out + '.run')) process.exit(0); }, 200);
