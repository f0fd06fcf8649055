import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { MemoryDirectory } from '../../signaling/directory';
import { MemoryMailbox } from '../../signaling/mailbox';
import { RedisDirectory } from '../../signaling/redis-directory';
import { RedisMailbox } from '../../signaling/redis-mailbox';
import { startRedis } from '../helpers/redis';
import { runDirectoryConformance, runMailboxConformance } from './server-stores.suite';

runDirectoryConformance('in memory', async () => ({ directory: new MemoryDirectory(), teardown: () => {} }));
runMailboxConformance('in memory', async (limits, clock) => ({ mailbox: new MemoryMailbox(limits, clock), teardown: () => {} }));

// One redis-server for this file; the Redis stores use fixed key names, so each test starts from an empty database.
let redis: Awaited<ReturnType<typeof startRedis>>;
let admin: Redis;
beforeAll(async () => {
	redis = await startRedis();
	admin = new Redis(redis.url);
});
afterAll(async () => {
	admin.disconnect();
	await redis.stop();
});

runDirectoryConformance('Redis', async () => {
	await admin.flushall();
	const directory = await RedisDirectory.connect(redis.url);
	return { directory, teardown: () => directory.close() };
});
runMailboxConformance('Redis', async (limits, clock) => {
	await admin.flushall();
	const mailbox = await RedisMailbox.connect(redis.url, limits, clock);
	return { mailbox, teardown: () => mailbox.close() };
});
