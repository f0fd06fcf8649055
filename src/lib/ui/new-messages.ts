/**
 * Which messages deserve a notification: those another device wrote that this screen had not seen
 * before and that are unread on this device. The first look only learns what is
 * there, so opening the app, or receiving history while linking, notifies of nothing. Called on
 * every change of the session: it looks only at each chat's unread end.
 */
import type { ChatMessage } from '../chats/messages';

export interface ChatSnapshot {
	id: string;
	title: string;
	/** Up to when the chat was read on this device (./reads.svelte.ts). */
	readUpTo: number;
	messages: readonly ChatMessage[];
}

export interface Arrival {
	chatId: string;
	title: string;
	/** The newest of the messages that arrived, for the notification's text. */
	text: string;
	count: number;
}

export class NewMessages {
	/**
	 * Per chat, the unread messages (newer than its read mark) seen at the last call. Read messages
	 * are never notified of, and a read mark only moves forward, so these are all it must remember:
	 * a look costs the unread messages, not the whole loaded history.
	 */
	private known?: Map<string, Set<string>>;

	/** What arrived since the last call, one entry per chat. */
	take(chats: readonly ChatSnapshot[], self: string): Arrival[] {
		const first = !this.known;
		const before = this.known ?? new Map<string, Set<string>>();
		const known = new Map<string, Set<string>>();
		const arrivals: Arrival[] = [];
		for (const chat of chats) {
			const seen = before.get(chat.id);
			const unseen = new Set<string>();
			let newest: ChatMessage | undefined;
			let count = 0;
			// Sorted oldest first: the unread ones are at the end.
			for (let index = chat.messages.length - 1; index >= 0; index--) {
				const message = chat.messages[index]!;
				if (message.sentAt <= chat.readUpTo) break;
				unseen.add(message.id);
				if (seen?.has(message.id) || message.author === self) continue;
				newest ??= message;
				count++;
			}
			known.set(chat.id, unseen);
			if (!first && newest) arrivals.push({ chatId: chat.id, title: chat.title, text: newest.text, count });
		}
		this.known = known;
		return arrivals;
	}
}
