/** What the limit tables (tests/unit/*-limits.test.ts) share. */
import { expect } from 'vitest';

/** A varuint whose continuation bytes go on past 2^53 − 1: lib0 gives up on it. */
export const OVERFLOWING_VARUINT = Uint8Array.from([...Array<number>(10).fill(0xff), 0x01]);

/** `run` is refused with an error of `type` and, when `reason` is given, for that reason; `what` names a table's row. */
export function refused(run: () => unknown, type: abstract new (...args: never[]) => Error, reason?: string, what?: string): void {
	let thrown: unknown;
	try {
		run();
	} catch (error) {
		thrown = error;
	}
	expect(thrown, what).toBeInstanceOf(type);
	if (reason) expect((thrown as Error).message, what).toContain(reason);
}
