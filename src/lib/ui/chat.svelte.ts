/**
 * The open chat's state: its title, its messages laid out by day (./timeline.ts), the draft in the
 * composer, and what went wrong sending. A visible chat marks what it shows as read; a hidden one
 * leaves it unread, so that the title, the badge and notifications still count it.
 */
import { MessageError } from '../chats/chats';
import { i18n, t } from '../i18n/index.svelte';
import { watched } from './app.svelte';
import { attention } from './attention.svelte';
import { markShown } from './reads.svelte';
import { dayLabel, timeline, type TimelineDay } from './timeline';

export interface ChatWindowView {
	title: string;
	days: TimelineDay[];
	count: number;
	/** The chat has months older than those shown (they load as the list is scrolled back). */
	hasOlder: boolean;
}

/** Messages drawn when a chat opens, and how many more each step back adds. */
export const MESSAGES_DRAWN = 100;

export class ChatWindow {
	draft = $state('');
	error = $state('');
	/**
	 * How many of the newest loaded messages are drawn: a month can hold thousands, and drawing
	 * them all would make opening the chat and every new message slow.
	 */
	drawn = $state(MESSAGES_DRAWN);

	constructor(private readonly chatId: () => string) {}

	get view(): ChatWindowView | undefined {
		const session = watched();
		const chatId = this.chatId();
		const chat = session?.chats.chat(chatId);
		if (!session || !chat) return undefined;
		const names = new Map<string, string>();
		const nameOf = (author: string) => {
			let name = names.get(author);
			if (name === undefined) names.set(author, (name = session.deviceName(author) ?? t('chat.unknownDevice')));
			return name;
		};
		const now = Date.now();
		const words = { today: t('chat.today'), yesterday: t('chat.yesterday') };
		const loaded = session.chats.messages(chatId);
		const messages = loaded.length > this.drawn ? loaded.slice(loaded.length - this.drawn) : loaded;
		return {
			title: chat.kind === 'self' ? t('chats.self') : chat.title,
			days: timeline(messages, session.self.id, nameOf, (at) => dayLabel(at, now, i18n.locale, words)),
			count: messages.length,
			hasOlder: loaded.length > this.drawn || session.chats.hasOlder(chatId)
		};
	}

	/** Opens the chat at its newest messages: the months they are in are loaded, no older ones. */
	async open(): Promise<void> {
		this.drawn = MESSAGES_DRAWN;
		await watched()?.chats.show(this.chatId());
	}

	/** Draws older messages: more of those loaded, or else the month before; false when there are none. */
	async showOlder(): Promise<boolean> {
		const chats = watched()?.chats;
		if (!chats) return false;
		const loaded = chats.messages(this.chatId()).length;
		if (loaded <= this.drawn && !(await chats.showOlder(this.chatId()))) return false;
		this.drawn += MESSAGES_DRAWN;
		return true;
	}

	/** Everything in the chat counts as read, here and for the account, when the user can see it. */
	markRead(): void {
		const session = watched();
		if (!session || !attention.visible) return;
		session.chats.markRead(this.chatId());
		markShown(session, this.chatId());
	}

	/** Sends the draft; true when it was saved (and the draft emptied). */
	async send(): Promise<boolean> {
		const session = watched();
		if (!session || !this.draft.trim()) return false;
		// The box empties at once: what is typed while the message is being stored is the next one.
		const text = this.draft;
		this.draft = '';
		try {
			await session.chats.send(this.chatId(), text);
			this.error = '';
			return true;
		} catch (failure) {
			if (!this.draft) this.draft = text;
			if (!(failure instanceof MessageError)) this.error = t('chat.sendFailed', { reason: (failure as Error).message });
			else if (failure.code === 'too-long') this.error = t('chat.tooLong');
			else if (failure.code === 'empty') this.error = t('chat.empty-message');
			else this.error = t('chat.notFound');
			return false;
		}
	}
}
