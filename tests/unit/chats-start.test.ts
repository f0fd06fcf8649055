import { afterEach, describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import { chatsMap, monthsMap } from '../../src/lib/account/document';
import { messagesMap, monthOf, monthTopic } from '../../src/lib/chats/messages';
import { Session } from '../../src/lib/session';
import type { SyncEngine } from '../../src/lib/sync/engine';
import { MemoryNetwork } from '../../src/lib/transport/memory';
import { memoryPlatform, texts, until } from '../helpers/devices';

const open: Session[] = [];
afterEach(async () => {
	await Promise.all(open.splice(0).map((session) => session.close()));
});

const MONTHS = [Date.UTC(2026, 0, 10), Date.UTC(2026, 1, 10), Date.UTC(2026, 2, 10), Date.UTC(2026, 3, 10)];

describe('starting with history stored', () => {
	it('lists every chat with its last message and unread count, opening only the months that hold unread messages', async () => {
		const clock = { now: MONTHS[0]! };
		const platform = memoryPlatform(new MemoryNetwork(), () => clock.now);
		const first = await Session.createAccount(platform, 'Ada', 'Laptop');
		// The note to self, written here each month; "news", written by another device, never read.
		for (const [i, time] of MONTHS.entries()) {
			clock.now = time;
			await first.chats.send('self', `note ${i}`);
		}
		const engine = first['engine'] as SyncEngine;
		const account = first['account'] as Y.Doc;
		chatsMap(account).set('news', { id: 'news', title: 'News', kind: 'self', createdAt: MONTHS[0]! });
		for (const [i, time] of MONTHS.entries()) {
			const topic = monthTopic('news', monthOf(time));
			messagesMap(await engine.open(topic)).set(`n${i}`, { id: `n${i}`, chatId: 'news', author: 'another-device', text: `news ${i}`, sentAt: time + 1000 });
			monthsMap(account).set(topic, true);
		}
		await first.close();

		const again = (await Session.restore(platform))!;
		open.push(again);
		const opened = () => (again['engine'] as SyncEngine).topics.filter((topic) => topic.startsWith('chat/')).sort();
		// The list as it first shows: newest chat first, each with its last message, the unread counted.
		const list = again.chats.list.map((chat) => ({ id: chat.id, last: again.chats.summary(chat.id).last?.text, unread: again.chats.unreadCount(chat.id) }));
		expect(list).toEqual([
			{ id: 'news', last: 'news 3', unread: 4 },
			{ id: 'self', last: 'note 3', unread: 0 }
		]);
		// Every month of news holds unread messages; none of the notes' months had to open for the list.
		expect(opened()).toEqual(MONTHS.map((time) => monthTopic('news', monthOf(time))));
		// The newest month of the notes opens right after, for what the chat shows when it is opened.
		await until([again], () => texts(again).length > 0);
		expect(texts(again)).toEqual(['note 3']);
		expect(opened()).toContain(monthTopic('self', monthOf(MONTHS[3]!)));
		expect(again.chats.summary('self').last?.text).toBe('note 3');
		await again.chats.show('self', Number.POSITIVE_INFINITY);
		expect(texts(again)).toEqual(['note 0', 'note 1', 'note 2', 'note 3']);
	});
});
