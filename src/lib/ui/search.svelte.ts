/**
 * Search: every message this device stores whose text holds the words typed (any case, any
 * accents; ../chats/chats.ts `search`), newest first, each with its chat, its sender and its day.
 */
import { formatTime, i18n, t } from '../i18n/index.svelte';
import { watched } from './app.svelte';
import { accountName } from './chat-people';
import { chatTitle } from './contacts.svelte';
import { dayLabel } from './timeline';

export interface SearchHit {
	id: string;
	chatId: string;
	chat: string;
	sender: string;
	/** The text around the first place it matches, cut to a line's length. */
	before: string;
	match: string;
	after: string;
	when: string;
}

/** Characters of context shown before a match. */
const CONTEXT = 40;
const SNIPPET = 140;
const TYPING_PAUSE_MS = 200;

export class SearchModel {
	query = $state('');
	hits = $state<SearchHit[]>([]);
	/** The query the hits are for ('' before the first search). */
	searched = $state('');
	private timer?: ReturnType<typeof setTimeout>;
	private running = 0;

	/** The user typed: search once they pause. */
	typed(query: string): void {
		this.query = query;
		clearTimeout(this.timer);
		this.timer = setTimeout(() => void this.run(), TYPING_PAUSE_MS);
	}

	async run(): Promise<void> {
		clearTimeout(this.timer);
		const session = watched();
		const query = this.query.trim();
		if (!session) return;
		if (!query) {
			this.hits = [];
			this.searched = '';
			return;
		}
		// Only the newest search shows: an earlier one that ends later is dropped.
		const run = ++this.running;
		const found = await session.chats.search(query);
		if (run !== this.running) return;
		const now = Date.now();
		this.hits = found.map((message) => {
			const chat = session.chats.chat(message.chatId);
			const title = !chat ? '' : chat.kind === 'self' ? t('chats.self') : chatTitle(session, chat);
			const shared = chat && chat.kind !== 'self';
			const sender = shared ? accountName(session, message.account, message.chatId) : (session.deviceName(message.author) ?? '');
			return { id: message.id, chatId: message.chatId, chat: title, sender, ...snippet(message.text, query), when: dayLabel(message.sentAt, now, i18n.locale, { today: formatTime(message.sentAt), yesterday: t('chat.yesterday') }) };
		});
		this.searched = query;
	}
}

/** The part of `text` around where `query` first appears (matched as typed, else from the start). */
export function snippet(text: string, query: string): { before: string; match: string; after: string } {
	const at = text.toLocaleLowerCase().indexOf(query.toLocaleLowerCase());
	if (at < 0) return { before: '', match: '', after: cut(text, SNIPPET) };
	const start = Math.max(0, at - CONTEXT);
	return {
		before: (start > 0 ? '…' : '') + text.slice(start, at),
		match: text.slice(at, at + query.length),
		after: cut(text.slice(at + query.length), SNIPPET - (at - start) - query.length)
	};
}

function cut(text: string, length: number): string {
	return text.length > length ? `${text.slice(0, Math.max(0, length))}…` : text;
}
