/**
 * What this device has shown of each chat, and so what is unread here: messages another device
 * wrote after the newest one this device showed on a visible screen (and after it was linked).
 *
 * The account's read marks (../chats/chats.ts) cannot say this yet: the device that writes a
 * message marks it read, and a mark of any device counts for all, so in a chat that only the
 * account's own devices write in, nothing is ever unread. Until the core keeps "read by a device
 * other than its author", each device keeps its own marks here, in localStorage (timestamps by
 * chat id, no content), removed when the device is logged out.
 *
 * In a chat with other accounts the core's marks say it: what another account wrote after this
 * account read up to is unread, on every device of the account (read on the tablet, gone on the phone).
 */
import type { Session } from '../session';

const PREFIX = 'samen.seen.';

let device = '';
let byChat: Record<string, number> = {};
/** Rises when a mark moves; read by everything that counts, so that it counts again. */
const changes = $state({ count: 0 });

function storageKey(): string {
	return PREFIX + device;
}

/** Loads this device's marks the first time a session is seen. */
function useDevice(session: Session): void {
	if (device === session.self.id) return;
	device = session.self.id;
	let stored: unknown;
	try {
		stored = JSON.parse(localStorage.getItem(storageKey()) ?? '{}');
	} catch (error) {
		console.warn('Samen: read marks unreadable, starting afresh', error);
	}
	byChat = typeof stored === 'object' && stored !== null ? (stored as Record<string, number>) : {};
}

function markOf(session: Session, chatId: string): number {
	void changes.count;
	useDevice(session);
	// History older than this device is not news to it.
	return Math.max(byChat[chatId] ?? 0, session.self.linkedAt);
}

/** The newest message of the chat counts as shown on this device. */
export function markShown(session: Session, chatId: string): void {
	const newest = session.chats.messages(chatId).at(-1)?.sentAt ?? 0;
	if (newest <= markOf(session, chatId)) return;
	byChat[chatId] = newest;
	localStorage.setItem(storageKey(), JSON.stringify(byChat));
	changes.count++;
}

const shared = (session: Session, chatId: string) => session.chats.chat(chatId)?.kind !== 'self';

/** Up to when the chat was shown here (in a chat with others: read by this account). */
export function shownUpTo(session: Session, chatId: string): number {
	if (shared(session, chatId)) return session.chats.readUpTo(chatId);
	return markOf(session, chatId);
}

export function unreadHere(session: Session, chatId: string): number {
	if (shared(session, chatId)) return session.chats.unreadCount(chatId);
	return session.chats.writtenByOthersAfter(chatId, markOf(session, chatId));
}

/** A logged-out device keeps nothing of the account. */
export function forgetReadMarks(): void {
	for (const key of Object.keys(localStorage)) if (key.startsWith(PREFIX)) localStorage.removeItem(key);
	device = '';
	byChat = {};
	changes.count++;
}
