/** What each side of a link shows its user (wire format: ../protocol/link.ts). */
import type { LinkErrorCode } from '../protocol/link';
import type { Transport } from '../transport/types';

export type LinkState =
	| { kind: 'waiting' }
	/** Both screens show `code`; `confirmed` once this side's user said it matches. */
	| { kind: 'confirm'; code: string; deviceName: string; confirmed: boolean }
	| { kind: 'linked'; deviceName: string }
	| { kind: 'failed'; error: LinkErrorCode };

/** How long the primary waits for the new device to answer in the room. */
export const LINK_ANSWER_TIMEOUT_MS = 20 * 1000;

/** Gives the last message a moment to leave before the room is closed. */
export function closeSoon(transport: Transport | undefined): void {
	setTimeout(() => transport?.close(), 500);
}

export function isFinished(state: LinkState): boolean {
	return state.kind === 'linked' || state.kind === 'failed';
}
