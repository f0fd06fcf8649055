/**
 * The account's chats: their list, their messages (one document per chat per month, ./messages.ts),
 * sending, and read state. Read state is the account's: a chat read on one device is read on all.
 */
import type * as Y from 'yjs';
import { chatsMap, monthsMap, readMap, type ChatRecord } from '../account/document';
import { randomBytes, toBase64Url } from '../crypto';
import type { SyncEngine } from '../sync/engine';
import type { Clock } from '../util/clock';
import {
	compareMessages,
	isChatMessage,
	MAX_MESSAGE_LENGTH,
	messagesMap,
	monthOf,
	monthTopic,
	parseMonthTopic,
	SELF_CHAT_ID,
	type ChatMessage
} from './messages';

export class MessageError extends Error {
	constructor(readonly code: 'empty' | 'too-long' | 'no-such-chat') {
		super(code);
		this.name = 'MessageError';
	}
}

export function newId(): string {
	return toBase64Url(randomBytes(12));
}

export class Chats {
	constructor(
		private readonly account: Y.Doc,
		private readonly engine: SyncEngine,
		private readonly deviceId: string,
		private readonly clock: Clock
	) {}

	/** The chats a new account starts with. */
	static seed(account: Y.Doc, now: number): void {
		chatsMap(account).set(SELF_CHAT_ID, { id: SELF_CHAT_ID, title: '', kind: 'self', createdAt: now });
	}

	/** Opens every month document the account lists, and each one a peer adds later. */
	async openAll(): Promise<void> {
		const months = monthsMap(this.account);
		months.observe((event) => {
			for (const topic of event.keysChanged) if (months.has(topic)) void this.engine.open(topic);
		});
		await Promise.all([...months.keys()].map((topic) => this.engine.open(topic)));
	}

	get list(): ChatRecord[] {
		const chats = [...chatsMap(this.account).values()];
		const last = (chat: ChatRecord) => this.messages(chat.id).at(-1)?.sentAt ?? chat.createdAt;
		return chats.sort((a, b) => last(b) - last(a));
	}

	chat(chatId: string): ChatRecord | undefined {
		return chatsMap(this.account).get(chatId);
	}

	messages(chatId: string): ChatMessage[] {
		const result: ChatMessage[] = [];
		for (const topic of monthsMap(this.account).keys()) {
			if (parseMonthTopic(topic)?.chatId !== chatId) continue;
			const doc = this.engine.doc(topic);
			if (!doc) continue;
			for (const value of messagesMap(doc).values()) if (isChatMessage(value, chatId)) result.push(value);
		}
		return result.sort(compareMessages);
	}

	async send(chatId: string, text: string): Promise<ChatMessage> {
		const trimmed = text.trim();
		if (!trimmed) throw new MessageError('empty');
		if (trimmed.length > MAX_MESSAGE_LENGTH) throw new MessageError('too-long');
		if (!this.chat(chatId)) throw new MessageError('no-such-chat');
		const sentAt = this.clock();
		const message: ChatMessage = { id: newId(), chatId, author: this.deviceId, text: trimmed, sentAt };
		const topic = monthTopic(chatId, monthOf(sentAt));
		const doc = await this.engine.open(topic);
		messagesMap(doc).set(message.id, message);
		if (!monthsMap(this.account).has(topic)) monthsMap(this.account).set(topic, true);
		this.markRead(chatId, sentAt);
		return message;
	}

	/** Unread messages of `chatId` for this account: written by others after every device's read mark. */
	unreadCount(chatId: string): number {
		const readUpTo = this.readUpTo(chatId);
		return this.messages(chatId).filter((m) => m.sentAt > readUpTo && m.author !== this.deviceId).length;
	}

	readUpTo(chatId: string): number {
		let latest = 0;
		for (const [key, time] of readMap(this.account)) {
			if (key.startsWith(`${chatId}/`) && time > latest) latest = time;
		}
		return latest;
	}

	markRead(chatId: string, upTo = this.messages(chatId).at(-1)?.sentAt ?? 0): void {
		const key = `${chatId}/${this.deviceId}`;
		if ((readMap(this.account).get(key) ?? 0) < upTo) readMap(this.account).set(key, upTo);
	}
}
