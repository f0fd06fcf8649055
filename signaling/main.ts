import { networkInterfaces } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ConfigError, configFromEnv } from './config';
import type { Directory } from './directory';
import { jsonLogger } from './log';
import { RedisDirectory } from './redis-directory';
import { startSignalingServer } from './server';

let config;
try {
	config = configFromEnv();
} catch (error) {
	if (!(error instanceof ConfigError)) throw error;
	console.error(`Samen cannot start: ${error.message}`);
	process.exit(2);
}
const staticDir = fileURLToPath(new URL('../build', import.meta.url));
const log = jsonLogger();
let directory: Directory | undefined;
if (config.redisUrl) {
	try {
		directory = await RedisDirectory.connect(config.redisUrl);
	} catch (error) {
		console.error(`Samen cannot start: Redis at REDIS_URL is not reachable (${(error as Error).message})`);
		process.exit(2);
	}
	log('redis-connected');
}
const server = await startSignalingServer({ ...config, staticDir, log, directory });
const scheme = config.tls ? 'https' : 'http';
const lan = Object.values(networkInterfaces())
	.flat()
	.filter((address) => address && address.family === 'IPv4' && !address.internal)
	.map((address) => `${scheme}://${address!.address}:${server.port}`);
console.error(`Samen is running: open ${scheme}://localhost:${server.port}`);
for (const url of lan) console.error(`  on this network: ${url}${config.tls ? '' : ' (the camera needs https or localhost)'}`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
	process.on(signal, () => {
		if (stopping) return;
		stopping = true;
		void server
			.close()
			.then(() => directory?.close())
			.then(() => process.exit(0));
	});
}
