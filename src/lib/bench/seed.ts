/**
 * A generated account for the benchmarks (bench/), in Node and in a benchmark build of the app:
 * `messages` messages across `chats` chats over the last `months` months, texts of 20 to 400
 * characters, written straight into the month documents (one transaction per chat and month), as
 * if they had been written over that time. Seeded: every run writes the same account.
 */
import * as Y from 'yjs';
import { chatsMap, monthsMap } from '../account/document';
import { messagesMap, monthOf, monthTopic, monthTopicRange } from '../chats/messages';
import { excerpt, HISTORY_WINDOW_MS } from '../history/window';
import type { Session } from '../session';
import type { SyncEngine } from '../sync/engine';

export interface SeedOptions {
	messages: number;
	chats: number;
	months: number;
	now?: number;
}

export interface SeededAccount {
	chatIds: string[];
	/** The chat with the most messages. */
	largest: string;
	largestMessages: number;
	/** Messages a device linked now receives (the last year), and their documents' encoded size. */
	windowMessages: number;
	windowBytes: number;
	/** The characters of every message's text. */
	textBytes: number;
}

const DAY = 24 * 60 * 60 * 1000;

function random(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
		return state / 2 ** 32;
	};
}

export async function seedHistory(session: Session, options: SeedOptions): Promise<SeededAccount> {
	const engine = session['engine'] as SyncEngine;
	const account = session['account'] as Y.Doc;
	const next = random(42);
	const now = options.now ?? Date.now();
	const first = now - options.months * 30.4 * DAY;
	const chatIds = Array.from({ length: options.chats }, (_, i) => `chat${String(i).padStart(2, '0')}`);
	account.transact(() => {
		for (const id of chatIds) chatsMap(account).set(id, { id, title: `Chat ${id.slice(4)}`, kind: 'self', createdAt: first });
	});
	// Chat sizes follow a long tail: the largest holds about a fifth of everything.
	const weights = chatIds.map((_, i) => 1 / (i + 1));
	const total = weights.reduce((a, b) => a + b, 0);
	const perChat = weights.map((weight) => Math.round((weight / total) * options.messages));
	const author = session.self.id;
	let textBytes = 0;
	for (const [index, chatId] of chatIds.entries()) {
		const times = Array.from({ length: perChat[index]! }, () => first + next() * (now - first - DAY)).sort((a, b) => a - b);
		const byMonth = new Map<string, number[]>();
		for (const time of times) {
			const month = monthOf(time);
			let list = byMonth.get(month);
			if (!list) byMonth.set(month, (list = []));
			list.push(time);
		}
		for (const [month, list] of byMonth) {
			const topic = monthTopic(chatId, month);
			const doc = await engine.open(topic);
			doc.transact(() => {
				const messages = messagesMap(doc);
				for (const [n, sentAt] of list.entries()) {
					const id = `${chatId}-${month}-${n}`;
					const length = 20 + Math.floor(next() * 381);
					textBytes += length;
					messages.set(id, { id, chatId, author, text: 'w'.repeat(length), sentAt: Math.floor(sentAt) });
				}
			});
			monthsMap(account).set(topic, true);
		}
	}
	const floor = now - HISTORY_WINDOW_MS;
	let windowBytes = Y.encodeStateAsUpdate(account).length;
	let windowMessages = 0;
	for (const topic of engine.topics) {
		const range = monthTopicRange(topic);
		const doc = engine.doc(topic);
		if (!range || !doc || range.end <= floor) continue;
		for (const message of messagesMap(doc).values()) if (message.sentAt >= floor) windowMessages++;
		windowBytes += range.start < floor ? excerpt(topic, doc, floor).length : Y.encodeStateAsUpdate(doc).length;
	}
	return { chatIds, largest: chatIds[0]!, largestMessages: perChat[0]!, windowMessages, windowBytes, textBytes };
}
