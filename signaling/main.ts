import { networkInterfaces } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ConfigError, configFromEnv } from './config';
import type { Directory } from './directory';
import { jsonLogger } from './log';
import { MemoryMailbox, type MailboxStore } from './mailbox';
import { RedisDirectory } from './redis-directory';
import { RedisMailbox } from './redis-mailbox';
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
let mailbox: MailboxStore | undefined;
if (config.redisUrl) {
	try {
		directory = await RedisDirectory.connect(config.redisUrl);
		mailbox = await RedisMailbox.connect(config.redisUrl, config.mailbox);
	} catch (error) {
		console.error(`Samen cannot start: Redis at REDIS_URL is not reachable (${(error as Error).message})`);
		process.exit(2);
	}
	log('redis-connected');
}
mailbox ??= new MemoryMailbox(config.mailbox);
const server = await startSignalingServer({ ...config, staticDir, log, directory, mailbox });
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
			.then(() => Promise.all([directory?.close(), mailbox?.close()]))
			.then(() => process.exit(0));
	});
}
