/**
 * Messages live in one document per chat per calendar month (UTC), topic "chat/<chatId>/<YYYY-MM>",
 * in a Y.Map keyed by message id. A month document stays bounded, and history can be handed out
 * by time window by choosing which month topics to offer.
 */
import type * as Y from 'yjs';

export const SELF_CHAT_ID = 'self';
export const MAX_MESSAGE_LENGTH = 10_000;

export interface ChatMessage {
	id: string;
	chatId: string;
	/** The device that wrote it. */
	author: string;
	text: string;
	sentAt: number;
	/** In a chat shared with other accounts (a signed record, ../protocol/chat-records.ts): the account that wrote it. */
	account?: string;
	/** The id of the message this one replies to ('' or absent: none). */
	reply?: string;
	/** When it was last edited (0 or absent: never). */
	edited?: number;
	/** Deleted for everyone: its text is gone. */
	deleted?: boolean;
	sig?: string;
}

export function monthOf(time: number): string {
	return new Date(time).toISOString().slice(0, 7);
}

export function monthTopic(chatId: string, month: string): string {
	return `chat/${chatId}/${month}`;
}

const MONTH_TOPIC = /^chat\/([A-Za-z0-9_-]{1,64})\/(\d{4}-\d{2})$/;

export function parseMonthTopic(topic: string): { chatId: string; month: string } | undefined {
	const match = MONTH_TOPIC.exec(topic);
	return match ? { chatId: match[1]!, month: match[2]! } : undefined;
}

/** The time span of a month topic, start inclusive and end exclusive, in ms (UTC); undefined for other topics. */
export function monthTopicRange(topic: string): { start: number; end: number } | undefined {
	const month = parseMonthTopic(topic)?.month;
	if (!month) return undefined;
	const year = Number(month.slice(0, 4));
	const index = Number(month.slice(5, 7)) - 1;
	if (index < 0 || index > 11) return undefined;
	return { start: Date.UTC(year, index, 1), end: Date.UTC(year, index + 1, 1) };
}

export function messagesMap(doc: Y.Doc): Y.Map<ChatMessage> {
	return doc.getMap<ChatMessage>('messages');
}

/** A peer's document may hold anything; only well-formed messages are shown. */
export function isChatMessage(value: unknown, chatId: string): value is ChatMessage {
	if (typeof value !== 'object' || value === null) return false;
	const m = value as Record<string, unknown>;
	return (
		typeof m.id === 'string' &&
		m.chatId === chatId &&
		typeof m.author === 'string' &&
		typeof m.text === 'string' &&
		m.text.length <= MAX_MESSAGE_LENGTH &&
		typeof m.sentAt === 'number' &&
		Number.isFinite(m.sentAt)
	);
}

export function compareMessages(a: ChatMessage, b: ChatMessage): number {
	return a.sentAt - b.sentAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
