/**
 * Load on the signaling server, over loopback: clients in rooms of 5, each forwarding a 1 KiB
 * signal to a room-mate once a second; the number of clients rises in steps until p99 forward
 * latency passes 100 ms (or the step limit). The server runs as `npm start` would run it, in its
 * own process; with two instances, clients alternate between them and rooms span both, through a
 * local redis-server. Prints one table row per step.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { startRedis } from '../tests/helpers/redis';

const ROOM_SIZE = 5;
const STEP_SECONDS = 5;
const STEPS = (process.env.LOAD_STEPS ?? '5000,10000,15000').split(',').map(Number);
const PAD = 'x'.repeat(1000);
const serverEntry = fileURLToPath(new URL('../signaling/main.ts', import.meta.url));

interface Instance {
	url: string;
	process: ChildProcess;
}

async function startInstance(port: number, redisUrl?: string): Promise<Instance> {
	const child = spawn(process.execPath, ['--import', 'tsx', serverEntry], {
		env: {
			...process.env,
			PORT: String(port),
			HOST: '127.0.0.1',
			MAX_CONNECTIONS_PER_IP: '1000000',
			...(redisUrl ? { REDIS_URL: redisUrl } : {})
		},
		stdio: ['ignore', 'ignore', 'pipe']
	});
	const url = `http://127.0.0.1:${port}`;
	for (let i = 0; i < 100; i++) {
		try {
			if ((await fetch(`${url}/healthz`)).ok) return { url, process: child };
		} catch {
			await new Promise((r) => setTimeout(r, 100));
		}
	}
	throw new Error(`server on ${port} did not start`);
}

async function residentBytes(instance: Instance): Promise<number> {
	const text = await (await fetch(`${instance.url}/metrics`)).text();
	return Number(/^process_resident_memory_bytes (\d+)$/m.exec(text)?.[1] ?? NaN);
}

interface Client {
	ws: WebSocket;
	self: string;
	room: string;
	mates: string[];
}

function connect(url: string, room: string, latencies: number[]): Promise<Client> {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(url.replace('http', 'ws') + '/signal', { perMessageDeflate: false });
		const client: Client = { ws, self: '', room, mates: [] };
		ws.on('error', reject);
		ws.on('message', (data) => {
			const frame = JSON.parse(data.toString());
			if (frame.type === 'welcome') {
				client.self = frame.self;
				ws.send(JSON.stringify({ type: 'join', room }));
			} else if (frame.type === 'joined') {
				client.mates = frame.peers;
				resolve(client);
			} else if (frame.type === 'peer-joined') {
				client.mates.push(frame.peer);
			} else if (frame.type === 'signal') {
				latencies.push(performance.now() - frame.data.t);
			}
		});
	});
}

function percentile(sorted: number[], p: number): number {
	return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function run(label: string, instances: Instance[]): Promise<string[]> {
	const rows: string[] = [];
	const clients: Client[] = [];
	let latencies: number[] = [];
	const baseline = (await Promise.all(instances.map(residentBytes))).reduce((a, b) => a + b, 0);
	for (const target of STEPS) {
		while (clients.length < target) {
			const batch: Promise<Client>[] = [];
			for (let i = 0; i < 500 && clients.length + batch.length < target; i++) {
				const n = clients.length + batch.length;
				const room = `load-room-${Math.floor(n / ROOM_SIZE)}`.padEnd(16, '-');
				batch.push(connect(instances[n % instances.length]!.url, room, latencies));
			}
			clients.push(...(await Promise.all(batch)));
		}
		latencies = [];
		const latencySink = latencies;
		for (const client of clients) {
			client.ws.removeAllListeners('message');
			client.ws.on('message', (data) => {
				const frame = JSON.parse(data.toString());
				if (frame.type === 'signal') latencySink.push(performance.now() - frame.data.t);
			});
		}
		// Each client sends once a second, spread evenly over the second.
		const timers = clients.map((client, i) =>
			setTimeout(() => {
				const send = () => {
					const to = client.mates[Math.floor(Math.random() * client.mates.length)];
					if (to) client.ws.send(JSON.stringify({ type: 'signal', room: client.room, to, data: { t: performance.now(), pad: PAD } }));
				};
				send();
				timers[i] = setInterval(send, 1000) as unknown as ReturnType<typeof setTimeout>;
			}, (i / clients.length) * 1000)
		);
		await new Promise((r) => setTimeout(r, STEP_SECONDS * 1000));
		for (const timer of timers) clearInterval(timer);
		const sorted = latencies.slice().sort((a, b) => a - b);
		const memory = (await Promise.all(instances.map(residentBytes))).reduce((a, b) => a + b, 0);
		const p99 = percentile(sorted, 99);
		rows.push(
			`| ${label} | ${clients.length.toLocaleString('en')} | ${Math.round(sorted.length / STEP_SECONDS).toLocaleString('en')} | ${percentile(sorted, 50).toFixed(1)} ms | ${p99.toFixed(1)} ms | ${((memory - baseline) / clients.length / 1024).toFixed(1)} KB |`
		);
		if (p99 > 100) break;
	}
	for (const client of clients) client.ws.terminate();
	return rows;
}

const header = ['| servers | connections | frames forwarded/s | p50 latency | p99 latency | server memory per connection |', '| --- | --- | --- | --- | --- | --- |'];
const rows: string[] = [];
const single = await startInstance(8911);
rows.push(...(await run('1 process', [single])));
single.process.kill('SIGTERM');
const redis = await startRedis();
const pair = [await startInstance(8912, redis.url), await startInstance(8913, redis.url)];
rows.push(...(await run('2 processes + Redis', pair)));
for (const instance of pair) instance.process.kill('SIGTERM');
await redis.stop();
process.stdout.write([...header, ...rows].join('\n') + '\n', () => process.exit(0));
