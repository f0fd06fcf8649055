/**
 * The account's chats: their list, their messages (one document per chat per month, ./messages.ts),
 * sending, and read state. Read state is the account's: a chat read on one device is read on all.
 *
 * A read model keeps what the screens ask for cheap however long the history: each month's
 * messages are sorted once and again only when that month changes; each chat's summary (its last
 * message and unread count) is recomputed only when one of its months or its read marks change.
 * Month documents are opened when needed: at start, each chat's newest month and those its unread
 * messages are in; older months when a chat is scrolled back to them (`showOlder`), or when a peer
 * syncs them.
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
	constructor(readonly code: 'empty' | 'too-long' | 'no-such-chat' | 'not-yours') {
		super(code);
		this.name = 'MessageError';
	}
}

function checkText(text: string): string {
	const trimmed = text.trim();
	if (!trimmed) throw new MessageError('empty');
	if (trimmed.length > MAX_MESSAGE_LENGTH) throw new MessageError('too-long');
	return trimmed;
}

/** Text as search compares it: lower case, without accents. */
function fold(text: string): string {
	return text.normalize('NFD').replace(/\p{Diacritic}/gu, '').toLowerCase();
}

export function newId(): string {
	return toBase64Url(randomBytes(12));
}

/** What the chat list shows of a chat. */
export interface ChatSummary {
	last?: ChatMessage;
	unread: number;
}

/**
 * What the store keeps beside a month document (../storage/types.ts), so that a month need not be
 * opened to know it: when each author last wrote there (which months may hold unread messages),
 * and how many messages it holds from when on (a history sync's weights).
 */
export interface MonthDescription {
	/** The month's last well-formed message: the chat list's preview while the month is not open. */
	last?: ChatMessage;
	/** Values with a numeric `sentAt`, as `weigh` counts them, and the earliest such `sentAt`. */
	count: number;
	first?: number;
	/** The newest `sentAt` of each author's well-formed messages. */
	newestBy: Record<string, number>;
}

export function describeMonth(topic: string, doc: Y.Doc): MonthDescription | undefined {
	const chatId = parseMonthTopic(topic)?.chatId;
	if (!chatId) return undefined;
	let count = 0;
	let first: number | undefined;
	let last: ChatMessage | undefined;
	const newestBy: Record<string, number> = {};
	for (const value of messagesMap(doc).values()) {
		const sentAt = (value as Partial<ChatMessage> | undefined)?.sentAt;
		if (typeof sentAt !== 'number') continue;
		count++;
		if (first === undefined || sentAt < first) first = sentAt;
		if (!isChatMessage(value, chatId)) continue;
		if (!(value.author in newestBy && newestBy[value.author]! >= value.sentAt)) newestBy[value.author] = value.sentAt;
		if (!last || compareMessages(value, last) > 0) last = value;
	}
	const description: MonthDescription = { count, newestBy };
	if (first !== undefined) description.first = first;
	if (last) description.last = { id: last.id, chatId: last.chatId, author: last.author, text: last.text, sentAt: last.sentAt };
	return description;
}

/** A description read back from storage, if it is one (a damaged record is not). */
export function readMonthDescription(topic: string, value: unknown): MonthDescription | undefined {
	const chatId = parseMonthTopic(topic)?.chatId;
	if (!chatId || typeof value !== 'object' || value === null) return undefined;
	const { last, count, first, newestBy } = value as Partial<MonthDescription>;
	if (typeof count !== 'number' || (first !== undefined && typeof first !== 'number')) return undefined;
	if (last !== undefined && !isChatMessage(last, chatId)) return undefined;
	if (typeof newestBy !== 'object' || newestBy === null || Object.values(newestBy).some((time) => typeof time !== 'number')) return undefined;
	return { last, count, first, newestBy };
}

/** How many messages a chat shows when it opens, at least (older months load as it scrolls back). */
export const MESSAGES_SHOWN_AT_OPEN = 50;

export class Chats {
	/** Each month document's valid messages, sorted; dropped when the month changes. */
	private readonly sortedMonths = new Map<string, ChatMessage[]>();
	/** Each chat's shown messages, sorted; dropped when one of its months changes. */
	private readonly shown = new Map<string, ChatMessage[]>();
	private readonly summaries = new Map<string, ChatSummary>();
	/** Each chat's newest read mark, from the account's read marks; dropped when one of the chat's marks changes. */
	private readonly readMarks = new Map<string, number>();
	/** What storage said of each month when the chats started: stands for a month not open (which has not changed since). */
	private readonly described = new Map<string, MonthDescription>();
	/** Month topics per chat, newest first; rebuilt when the account's list of months changes. */
	private monthsByChat?: Map<string, string[]>;
	private readonly stops: (() => void)[] = [];

	constructor(
		private readonly account: Y.Doc,
		private readonly engine: SyncEngine,
		private readonly deviceId: string,
		private readonly clock: Clock,
		/** Whether this device keeps a month topic at all (its history window). */
		private readonly keeps: (topic: string) => boolean = () => true,
		private readonly shared: {
			/** This account's id: its own messages in shared chats are never unread. */
			account?: string;
			/** The form a message is stored in (signed, in a chat shared with other accounts). */
			prepare?: (message: ChatMessage) => ChatMessage;
			/** This account read `chatId` up to `upTo` (other members see it as a receipt). */
			read?: (chatId: string, upTo: number) => void;
		} = {}
	) {}

	/** The chats a new account starts with. */
	static seed(account: Y.Doc, now: number): void {
		chatsMap(account).set(SELF_CHAT_ID, { id: SELF_CHAT_ID, title: '', kind: 'self', createdAt: now });
	}

	/**
	 * Reads what storage says of each month, opens the months that hold unread messages (the
	 * descriptions tell which, without opening them), and keeps the read model current from then on.
	 * The list shows each chat's last message from its newest month's description; each newest
	 * month opens right after, without holding up the list.
	 */
	async start(): Promise<void> {
		for (const [topic, saved] of await this.engine.stored()) {
			const description = readMonthDescription(topic, saved.description);
			if (description) this.described.set(topic, description);
		}
		const months = monthsMap(this.account);
		const observer = (event: Y.YMapEvent<true>) => {
			this.monthsByChat = undefined;
			for (const topic of event.keysChanged) {
				const chatId = parseMonthTopic(topic)?.chatId;
				if (!chatId) continue;
				this.shown.delete(chatId);
				this.summaries.delete(chatId);
				// A month newer than what a chat shows (a peer wrote there) is opened: it may hold the last message.
				if (months.has(topic) && this.monthsOf(chatId)[0] === topic) void this.engine.open(topic);
			}
		};
		months.observe(observer);
		this.stops.push(() => months.unobserve(observer));
		// A read mark moves the summary of its chat only: marks move with every message shown.
		const marks = readMap(this.account);
		const marked = (event: Y.YMapEvent<number>) => {
			for (const key of event.keysChanged) {
				const chatId = key.slice(0, key.lastIndexOf('/'));
				this.readMarks.delete(chatId);
				this.summaries.delete(chatId);
			}
		};
		marks.observe(marked);
		this.stops.push(() => marks.unobserve(marked));
		this.stops.push(
			this.engine.on('changed', ({ topic }) => this.invalidate(topic)),
			this.engine.on('topic-opened', (topic) => this.invalidate(topic))
		);
		const wanted = new Set<string>();
		const newest = new Set<string>();
		for (const chatId of chatsMap(this.account).keys()) {
			const topics = this.monthsOf(chatId);
			const readUpTo = this.readUpTo(chatId);
			const unreadFrom = monthOf(readUpTo);
			for (const [index, topic] of topics.entries()) {
				const description = this.described.get(topic);
				if (index === 0) {
					// Without a description (saved by an older version, or not saved here) the list needs it open.
					if (description && !this.unreadIn(description, readUpTo)) newest.add(topic);
					else wanted.add(topic);
					continue;
				}
				if (parseMonthTopic(topic)!.month < unreadFrom) break;
				if (!description || this.unreadIn(description, readUpTo)) wanted.add(topic);
			}
		}
		await Promise.all([...wanted].map((topic) => this.engine.open(topic)));
		// What the screens read of a chat's messages (unread here, notifications) comes from its open months.
		setTimeout(() => {
			for (const topic of newest) {
				this.engine.open(topic).catch((error: unknown) => console.error(`Samen: could not open ${topic}`, error));
			}
		}, 0);
	}

	/** Whether a month so described holds a message another device wrote after `readUpTo`. */
	private unreadIn(description: MonthDescription, readUpTo: number): boolean {
		return Object.entries(description.newestBy).some(([author, newest]) => author !== this.deviceId && newest > readUpTo);
	}

	/** Some months are no longer kept on this device: everything computed from them goes. */
	forgetMonths(): void {
		this.sortedMonths.clear();
		this.shown.clear();
		this.summaries.clear();
		this.readMarks.clear();
		this.described.clear();
		this.monthsByChat = undefined;
	}

	/** Stops following changes and forgets what it computed (the device is being wiped). */
	stop(): void {
		for (const stop of this.stops.splice(0)) stop();
		this.forgetMonths();
	}

	/** A month changed: what was computed from it goes (the account's own changes are followed in `start`). */
	private invalidate(topic: string): void {
		const chatId = parseMonthTopic(topic)?.chatId;
		if (!chatId) return;
		this.sortedMonths.delete(topic);
		this.shown.delete(chatId);
		this.summaries.delete(chatId);
	}

	/** The month topics of a chat this device keeps, newest first. */
	monthsOf(chatId: string): string[] {
		if (!this.monthsByChat) {
			const byChat = new Map<string, string[]>();
			for (const topic of monthsMap(this.account).keys()) {
				const parsed = parseMonthTopic(topic);
				if (!parsed || !this.keeps(topic)) continue;
				let list = byChat.get(parsed.chatId);
				if (!list) byChat.set(parsed.chatId, (list = []));
				list.push(topic);
			}
			for (const list of byChat.values()) list.sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
			this.monthsByChat = byChat;
		}
		return this.monthsByChat.get(chatId) ?? [];
	}

	private monthMessages(topic: string, chatId: string): ChatMessage[] | undefined {
		const cached = this.sortedMonths.get(topic);
		if (cached) return cached;
		const doc = this.engine.doc(topic);
		if (!doc) return undefined;
		const result: ChatMessage[] = [];
		for (const value of messagesMap(doc).values()) if (isChatMessage(value, chatId)) result.push(value);
		result.sort(compareMessages);
		this.sortedMonths.set(topic, result);
		return result;
	}

	get list(): ChatRecord[] {
		const chats = [...chatsMap(this.account).values()];
		const last = (chat: ChatRecord) => this.summary(chat.id).last?.sentAt ?? chat.createdAt;
		return chats.sort((a, b) => last(b) - last(a) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
	}

	chat(chatId: string): ChatRecord | undefined {
		return chatsMap(this.account).get(chatId);
	}

	/** The chat's last message and unread count, from its open months and the descriptions of the others. */
	summary(chatId: string): ChatSummary {
		const cached = this.summaries.get(chatId);
		if (cached) return cached;
		const readUpTo = this.readUpTo(chatId);
		let last: ChatMessage | undefined;
		let unread = 0;
		for (const topic of this.monthsOf(chatId)) {
			const messages = this.monthMessages(topic, chatId);
			// A month not open has not changed since it was described, and holds nothing unread (see `start`).
			if (!messages) {
				last ??= this.described.get(topic)?.last;
				continue;
			}
			last ??= messages.at(-1);
			let stop = false;
			for (let index = messages.length - 1; index >= 0; index--) {
				const message = messages[index]!;
				if (message.sentAt <= readUpTo) {
					stop = true;
					break;
				}
				if (message.author !== this.deviceId && (!message.account || message.account !== this.shared.account)) unread++;
			}
			if (stop && last) break;
		}
		const summary = { last, unread };
		this.summaries.set(chatId, summary);
		return summary;
	}

	/**
	 * The chat's messages in order, from its newest month back through every month open without a
	 * gap: what the chat screen shows. `showOlder` adds the month before.
	 */
	messages(chatId: string): ChatMessage[] {
		const cached = this.shown.get(chatId);
		if (cached) return cached;
		const months: ChatMessage[][] = [];
		for (const topic of this.monthsOf(chatId)) {
			const messages = this.monthMessages(topic, chatId);
			if (!messages) break;
			months.push(messages);
		}
		const result = months.reverse().flat();
		this.shown.set(chatId, result);
		return result;
	}

	/** Opens the chat's newest months until it shows at least `count` messages, or all it has. */
	async show(chatId: string, count = MESSAGES_SHOWN_AT_OPEN): Promise<void> {
		while (this.messages(chatId).length < count && (await this.showOlder(chatId)));
	}

	/** Opens the month before the oldest one shown; false when there is none. */
	async showOlder(chatId: string): Promise<boolean> {
		const next = this.monthsOf(chatId).find((topic) => !this.engine.doc(topic));
		if (!next) return false;
		await this.engine.open(next);
		return true;
	}

	/** Whether the chat has older months than those shown. */
	hasOlder(chatId: string): boolean {
		return this.monthsOf(chatId).some((topic) => !this.engine.doc(topic));
	}

	async send(chatId: string, text: string, options: { reply?: string } = {}): Promise<ChatMessage> {
		const trimmed = checkText(text);
		const chat = this.chat(chatId);
		if (!chat || chat.left) throw new MessageError('no-such-chat');
		const sentAt = this.clock();
		const message: ChatMessage = { id: newId(), chatId, author: this.deviceId, text: trimmed, sentAt };
		if (options.reply) message.reply = options.reply;
		const topic = monthTopic(chatId, monthOf(sentAt));
		const doc = await this.engine.open(topic);
		const stored = this.shared.prepare?.(message) ?? message;
		messagesMap(doc).set(message.id, stored);
		if (!monthsMap(this.account).has(topic)) monthsMap(this.account).set(topic, true);
		this.markRead(chatId, sentAt);
		return stored;
	}

	/**
	 * Edits or deletes (for everyone) one of this account's messages: the message is replaced under
	 * its id, on every device, by the edited one or by one without text.
	 */
	async change(message: ChatMessage, change: { text: string } | { deleted: true }): Promise<void> {
		const mine = message.account ? message.account === this.shared.account : true;
		if (!mine || message.deleted) throw new MessageError('not-yours');
		const text = 'text' in change ? checkText(change.text) : '';
		const doc = await this.engine.open(monthTopic(message.chatId, monthOf(message.sentAt)));
		const changed: ChatMessage = { ...message, author: this.deviceId, text, edited: this.clock() };
		if ('deleted' in change) changed.deleted = true;
		delete changed.sig;
		messagesMap(doc).set(message.id, this.shared.prepare?.(changed) ?? changed);
	}

	/** The messages of every kept month whose text holds `query` (any case and accents), newest first. */
	async search(query: string, limit = 100): Promise<ChatMessage[]> {
		const wanted = fold(query.trim());
		if (!wanted) return [];
		const found: ChatMessage[] = [];
		const topics = [...monthsMap(this.account).keys()].filter((topic) => parseMonthTopic(topic) && this.keeps(topic)).sort().reverse();
		for (const topic of topics) {
			const chatId = parseMonthTopic(topic)!.chatId;
			if (!this.chat(chatId)) continue;
			await this.engine.open(topic);
			const messages = this.monthMessages(topic, chatId) ?? [];
			for (let index = messages.length - 1; index >= 0; index--) {
				const message = messages[index]!;
				if (!message.deleted && fold(message.text).includes(wanted)) found.push(message);
			}
			if (found.length >= limit) break;
		}
		return found.sort((a, b) => compareMessages(b, a)).slice(0, limit);
	}

	/** Unread messages of `chatId` for this account: written by others after every device's read mark. */
	unreadCount(chatId: string): number {
		return this.summary(chatId).unread;
	}

	readUpTo(chatId: string): number {
		const cached = this.readMarks.get(chatId);
		if (cached !== undefined) return cached;
		let latest = 0;
		for (const [key, time] of readMap(this.account)) {
			if (key.startsWith(`${chatId}/`) && time > latest) latest = time;
		}
		this.readMarks.set(chatId, latest);
		return latest;
	}

	/**
	 * How many of the chat's shown messages another device wrote after `after`: counted from the
	 * newest back, so it costs what is counted, not the chat's history.
	 */
	writtenByOthersAfter(chatId: string, after: number): number {
		const messages = this.messages(chatId);
		let count = 0;
		for (let index = messages.length - 1; index >= 0 && messages[index]!.sentAt > after; index--) {
			if (messages[index]!.author !== this.deviceId) count++;
		}
		return count;
	}

	markRead(chatId: string, upTo = this.summary(chatId).last?.sentAt ?? 0): void {
		const key = `${chatId}/${this.deviceId}`;
		if ((readMap(this.account).get(key) ?? 0) < upTo) readMap(this.account).set(key, upTo);
		this.shared.read?.(chatId, upTo);
	}
}
