/** What each side of a link shows its user (wire format: ../protocol/link.ts). */
import type { LinkErrorCode } from '../protocol/link';
import type { Transport } from '../transport/types';
import { Emitter } from '../util/emitter';

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

/** What both sides of a link share: a state the user sees, and an end that closes the room. */
export abstract class LinkSide<Events extends { state: LinkState }> extends Emitter<Events> {
	state: LinkState = { kind: 'waiting' };
	protected transport?: Transport;
	private readonly timers: ReturnType<typeof setTimeout>[] = [];

	/** Runs `action` after `ms` unless the link finished first. */
	protected after(ms: number, action: () => void): void {
		this.timers.push(setTimeout(action, Math.max(0, ms)));
	}

	protected finish(state: LinkState): void {
		for (const timer of this.timers.splice(0)) clearTimeout(timer);
		this.setState(state);
		closeSoon(this.transport);
	}

	protected setState(state: LinkState): void {
		this.state = state;
		this.emit('state', state as Events['state']);
	}
}
