import { spawn } from 'node:child_process';
import { freePort } from './ports';

/** Debian's redis-server on a loopback port of its own, without persistence, for one test file. */
export async function startRedis(): Promise<{ url: string; stop: () => Promise<void> }> {
	const port = await freePort();
	const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
		stdio: ['ignore', 'pipe', 'pipe']
	});
	await new Promise<void>((resolve, reject) => {
		let output = '';
		const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 10_000);
		child.once('error', (error) => {
			clearTimeout(timer);
			reject(new Error(`redis-server could not run (${error.message}); npm test installs it: npm run setup:test`));
		});
		child.stdout.on('data', (data) => {
			output += data;
			if (output.includes('Ready to accept connections')) {
				clearTimeout(timer);
				resolve();
			}
		});
	});
	return {
		url: `redis://127.0.0.1:${port}`,
		stop: () =>
			new Promise((resolve) => {
				child.once('exit', () => resolve());
				child.kill('SIGTERM');
			})
	};
}
