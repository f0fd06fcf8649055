/**
 * What bench/browser-history.ts reaches in a benchmark build of the app (`VITE_SAMEN_BENCH=1`),
 * as `window.samenBench`: generating an account's history on the open session, and reading what
 * the device holds. Never part of an ordinary build.
 */
import type { Session } from '../session';
import { seedHistory, type SeedOptions } from './seed';

export interface BenchHooks {
	seed(options: SeedOptions): Promise<Awaited<ReturnType<typeof seedHistory>>>;
	/** Messages the device holds in these chats, every month opened. */
	messages(chatIds: string[]): Promise<number>;
	/** Bytes the device's document store holds. */
	storedBytes(): Promise<number>;
}

export function install(session: () => Session | undefined): void {
	const open = () => {
		const current = session();
		if (!current) throw new Error('no account on this device');
		return current;
	};
	const hooks: BenchHooks = {
		async seed(options) {
			const current = open();
			const seeded = await seedHistory(current, options);
			await current['platform'].documents.flush();
			return seeded;
		},
		async messages(chatIds) {
			const current = open();
			await Promise.all(chatIds.map((id) => current.chats.show(id, Number.POSITIVE_INFINITY)));
			return chatIds.reduce((sum, id) => sum + current.chats.messages(id).length, 0);
		},
		async storedBytes() {
			let bytes = 0;
			for (const size of (await open()['platform'].documents.sizes()).values()) bytes += size;
			return bytes;
		}
	};
	(globalThis as { samenBench?: BenchHooks }).samenBench = hooks;
}
