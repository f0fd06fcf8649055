/**
 * The open chat's state: its title, its loaded messages laid out by day (./timeline.ts, made again
 * only when they change), the draft in the composer, and what went wrong sending. A visible chat marks what it shows as read; a hidden one
 * leaves it unread, so that the title, the badge and notifications still count it.
 */
import { MessageError } from '../chats/chats';
import type { ChatMessage } from '../chats/messages';
import { i18n, t } from '../i18n/index.svelte';
import { watched } from './app.svelte';
import { attention } from './attention.svelte';
import { markShown } from './reads.svelte';
import { dayLabel, timeline, type TimelineItem } from './timeline';

export interface ChatWindowView {
	title: string;
	/** Every loaded message and the days they fall on, oldest first (the list draws those on screen). */
	items: readonly TimelineItem[];
	count: number;
	/** The chat has months older than those loaded (they load as the list is scrolled back). */
	hasOlder: boolean;
	/** The clock the day labels are made with. */
	now: number;
}

export class ChatWindow {
	draft = $state('');
	error = $state('');
	/** The last layout and the messages it was made of: a change elsewhere in the session reuses it. */
	private laidOut?: { messages: readonly ChatMessage[]; items: TimelineItem[] };

	constructor(private readonly chatId: () => string) {}

	get view(): ChatWindowView | undefined {
		const session = watched();
		const chatId = this.chatId();
		const chat = session?.chats.chat(chatId);
		if (!session || !chat) return undefined;
		const messages = session.chats.messages(chatId);
		if (this.laidOut?.messages !== messages) this.laidOut = { messages, items: timeline(messages, session.self.id) };
		return {
			title: chat.kind === 'self' ? t('chats.self') : chat.title,
			items: this.laidOut.items,
			count: messages.length,
			hasOlder: session.chats.hasOlder(chatId),
			now: Date.now()
		};
	}

	/** A day separator's label: "Today", "Yesterday", a weekday, a date. */
	dayLabel(at: number, now: number): string {
		return dayLabel(at, now, i18n.locale, { today: t('chat.today'), yesterday: t('chat.yesterday') });
	}

	/** The name a bubble shows for the device that wrote it. */
	deviceName(device: string): string {
		return watched()?.deviceName(device) ?? t('chat.unknownDevice');
	}

	/** Opens the chat at its newest messages: the months they are in are loaded, no older ones. */
	async open(): Promise<void> {
		await watched()?.chats.show(this.chatId());
	}

	/** Loads the month before the oldest one loaded; false when there is none. */
	async showOlder(): Promise<boolean> {
		return (await watched()?.chats.showOlder(this.chatId())) ?? false;
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
