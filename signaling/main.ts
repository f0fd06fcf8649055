import { networkInterfaces } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startSignalingServer } from './server';

const port = Number(process.env.PORT ?? 8787);
const host = process.env.HOST ?? '0.0.0.0';
const staticDir = fileURLToPath(new URL('../build', import.meta.url));

const server = await startSignalingServer({ port, host, staticDir });
const lan = Object.values(networkInterfaces())
	.flat()
	.filter((address) => address && address.family === 'IPv4' && !address.internal)
	.map((address) => `http://${address!.address}:${server.port}`);
console.log(`Samen is running: open http://localhost:${server.port}`);
for (const url of lan) console.log(`  on this network: ${url} (the camera needs https or localhost)`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
	process.on(signal, () => {
		void server.close().then(() => process.exit(0));
	});
}
