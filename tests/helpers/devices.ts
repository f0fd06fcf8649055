import { Device, type Platform } from '../../src/lib/device';
import { MemoryDocumentStore, MemoryKeyValueStore } from '../../src/lib/storage/memory';
import type { MemoryNetwork } from '../../src/lib/transport/memory';
import type { Clock } from '../../src/lib/util/clock';

export function memoryPlatform(network: MemoryNetwork, clock: Clock = () => Date.now()): Platform {
	return {
		records: new MemoryKeyValueStore(),
		documents: new MemoryDocumentStore(),
		transport: (room) => network.transport(room),
		clock
	};
}

/** Resolves once `check` holds, re-checking on every change of any of `devices`. */
export function until(devices: Device[], check: () => boolean, timeoutMs = 10_000): Promise<void> {
	return new Promise((resolve, reject) => {
		const stops: (() => void)[] = [];
		const done = () => {
			clearTimeout(timer);
			clearInterval(poll);
			for (const stop of stops) stop();
		};
		const test = () => {
			if (check()) {
				done();
				resolve();
			}
		};
		const timer = setTimeout(() => {
			done();
			reject(new Error('condition not reached in time'));
		}, timeoutMs);
		const poll = setInterval(test, 50);
		for (const device of devices) stops.push(device.on('changed', test));
		test();
	});
}

export function texts(device: Device, chatId = 'self'): string[] {
	return device.messages(chatId).map((m) => m.text);
}
