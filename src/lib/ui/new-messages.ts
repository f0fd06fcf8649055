/**
 * Which messages deserve a notification: those another device wrote that this screen had not seen
 * before and that are unread on this device. The first look only learns what is
 * there, so opening the app, or receiving history while linking, notifies of nothing.
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
	private known?: Set<string>;

	/** What arrived since the last call, one entry per chat. */
	take(chats: readonly ChatSnapshot[], self: string): Arrival[] {
		const first = !this.known;
		const known = (this.known ??= new Set());
		const arrivals: Arrival[] = [];
		for (const chat of chats) {
			const fresh = chat.messages.filter((message) => !known.has(message.id));
			for (const message of fresh) known.add(message.id);
			if (first) continue;
			const unread = fresh.filter((message) => message.author !== self && message.sentAt > chat.readUpTo);
			const newest = unread.at(-1);
			if (newest) arrivals.push({ chatId: chat.id, title: chat.title, text: newest.text, count: unread.length });
		}
		return arrivals;
	}
}
