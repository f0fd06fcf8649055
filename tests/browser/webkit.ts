/**
 * A device in Debian's WebKitGTK (MiniBrowser), driven through WebKitWebDriver by a small
 * WebDriver classic client: a handful of commands, each one `fetch` to the driver's HTTP API
 * (W3C WebDriver, https://www.w3.org/TR/webdriver2/). MiniBrowser has no headless mode, so it gets
 * an Xvfb display of its own; Xvfb picks a free display number (`-displayfd`), so that runs beside
 * each other do not meet on one display.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { freePort } from '../helpers/ports';

export const MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
const WAIT_MS = 15_000;
/** The key W3C WebDriver names a found element by. */
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

export class WebDriverError extends Error {
	constructor(
		readonly command: string,
		readonly error: string,
		message: string
	) {
		super(`WebDriver ${command}: ${error}: ${message}`);
	}
}

/** Starts Xvfb on a free display; resolves with its number once it accepts clients. */
async function startXvfb(): Promise<{ display: string; process: ChildProcess }> {
	const xvfb = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x800x24', '-nolisten', 'tcp'], {
		stdio: ['ignore', 'ignore', 'pipe', 'pipe']
	});
	let stderr = '';
	xvfb.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
	const displayFd = xvfb.stdio[3] as NodeJS.ReadableStream;
	const display = await new Promise<string>((resolve, reject) => {
		let written = '';
		displayFd.on('data', (chunk: Buffer) => {
			written += chunk.toString();
			if (written.includes('\n')) resolve(`:${written.trim()}`);
		});
		xvfb.once('exit', (code) => reject(new Error(`Xvfb exited (${code}) before it had a display: ${stderr}`)));
	});
	return { display, process: xvfb };
}

async function stop(child: ChildProcess): Promise<void> {
	if (child.exitCode !== null || child.signalCode !== null) return;
	const exited = once(child, 'exit');
	child.kill('SIGTERM');
	await exited;
}

export class WebKitDevice {
	private constructor(
		private readonly driverUrl: string,
		private readonly session: string,
		private readonly driver: ChildProcess,
		private readonly xvfb: ChildProcess
	) {}

	/** Xvfb, WebKitWebDriver and one MiniBrowser session (a driver process serves one session). */
	static async launch(): Promise<WebKitDevice> {
		const { display, process: xvfb } = await startXvfb();
		let driver: ChildProcess | undefined;
		try {
			const port = await freePort();
			driver = spawn('WebKitWebDriver', [`--port=${port}`], { env: { ...process.env, DISPLAY: display }, stdio: 'ignore' });
			const driverUrl = `http://127.0.0.1:${port}`;
			const deadline = Date.now() + WAIT_MS;
			while (!(await fetch(`${driverUrl}/status`).then((response) => response.ok, () => false))) {
				if (Date.now() > deadline) throw new Error(`WebKitWebDriver did not answer on port ${port}`);
				await new Promise((resolve) => setTimeout(resolve, 100));
			}
			const created = (await command(driverUrl, 'POST', '/session', {
				capabilities: {
					alwaysMatch: {
						browserName: 'MiniBrowser',
						'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] }
					}
				}
			})) as { sessionId: string };
			return new WebKitDevice(driverUrl, created.sessionId, driver, xvfb);
		} catch (error) {
			if (driver) await stop(driver);
			await stop(xvfb);
			throw error;
		}
	}

	private send(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
		return command(this.driverUrl, method, `/session/${this.session}${path}`, body);
	}

	async goto(url: string): Promise<void> {
		await this.send('POST', '/url', { url });
	}

	/** Runs `script` (a function body; `arguments` are `args`) in the page and returns its result. */
	execute<T>(script: string, args: unknown[] = []): Promise<T> {
		return this.send('POST', '/execute/sync', { script, args }) as Promise<T>;
	}

	private async find(testid: string): Promise<string | undefined> {
		try {
			const found = (await this.send('POST', '/element', { using: 'css selector', value: `[data-testid="${testid}"]` })) as Record<string, string>;
			return found[ELEMENT];
		} catch (error) {
			if (error instanceof WebDriverError && error.error === 'no such element') return undefined;
			throw error;
		}
	}

	/** The element `testid`, once it is there. */
	private async element(testid: string): Promise<string> {
		const deadline = Date.now() + WAIT_MS;
		for (;;) {
			const element = await this.find(testid);
			if (element) return element;
			if (Date.now() > deadline) throw new Error(`WebKit: no element "${testid}" within ${WAIT_MS} ms`);
			await new Promise((resolve) => setTimeout(resolve, 100));
		}
	}

	async click(testid: string): Promise<void> {
		await this.send('POST', `/element/${await this.element(testid)}/click`, {});
	}

	async fill(testid: string, text: string): Promise<void> {
		const element = await this.element(testid);
		await this.send('POST', `/element/${element}/clear`, {});
		await this.send('POST', `/element/${element}/value`, { text });
	}

	/** The text the element `testid` shows, or undefined while there is no such element. */
	async text(testid: string): Promise<string | undefined> {
		const element = await this.find(testid);
		return element === undefined ? undefined : ((await this.send('GET', `/element/${element}/text`)) as string);
	}

	/** Waits until the element `testid` shows `expected` as part of its text; returns all of it. */
	async seeText(testid: string, expected: string): Promise<string> {
		const deadline = Date.now() + WAIT_MS;
		for (;;) {
			const shown = await this.text(testid).catch((error: unknown) => {
				// The page went on to another screen between finding the element and reading it.
				if (error instanceof WebDriverError && error.error === 'stale element reference') return undefined;
				throw error;
			});
			if (shown?.includes(expected)) return shown;
			if (Date.now() > deadline) throw new Error(`WebKit: "${testid}" does not show "${expected}" within ${WAIT_MS} ms; it shows: ${shown ?? '(no such element)'}`);
			await new Promise((resolve) => setTimeout(resolve, 100));
		}
	}

	async close(): Promise<void> {
		try {
			await this.send('DELETE', '');
		} finally {
			await stop(this.driver);
			await stop(this.xvfb);
		}
	}
}

async function command(driverUrl: string, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
	const response = await fetch(`${driverUrl}${path}`, {
		method,
		headers: body === undefined ? undefined : { 'content-type': 'application/json' },
		body: body === undefined ? undefined : JSON.stringify(body)
	});
	const { value } = (await response.json()) as { value: unknown };
	if (!response.ok) {
		const { error, message } = value as { error: string; message: string };
		throw new WebDriverError(`${method} ${path}`, error, message);
	}
	return value;
}
