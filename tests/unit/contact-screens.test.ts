/**
 * What the contact screens say for what the core refuses: a group past 64 members or with someone
 * who is not a contact, an invite that is one's own or not an invite. The view models run over a
 * real session (in memory); the words are the English ones the screen shows.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { t } from '../../src/lib/i18n/index.svelte';
import type { Session } from '../../src/lib/session';
import { MemoryNetwork } from '../../src/lib/transport/memory';
import { app } from '../../src/lib/ui/app.svelte';
import { AddContactFlow, contactErrorKey, NewGroupModel } from '../../src/lib/ui/contacts.svelte';
import { linkedAccount } from '../helpers/devices';

let session: Session | undefined;

afterEach(async () => {
	app.session = undefined;
	await session?.close().catch(() => undefined);
	session = undefined;
});

async function signedIn(): Promise<Session> {
	[session] = await linkedAccount(new MemoryNetwork(), 0);
	app.session = session;
	return session!;
}

describe('New group', () => {
	it('says in words that a group has at most 64 members, and that everyone in it must be a contact', async () => {
		await signedIn();
		const group = new NewGroupModel();
		group.title = 'Everyone';
		for (let i = 0; i < 64; i++) group.toggle(`account-${i}`, true);
		expect(await group.create()).toBeUndefined();
		expect(t(group.error!)).toBe('A group has at most 64 members, you included: choose at most 63 contacts.');

		group.chosen = [];
		group.toggle('someone-unknown', true);
		expect(await group.create()).toBeUndefined();
		expect(t(group.error!)).toBe('One of the people you chose is not your contact (any more). Choose again.');
	});
});

describe('Add contact', () => {
	it('refuses this account’s own invite and text that is no invite, with words for each', async () => {
		const own = await signedIn();
		const flow = new AddContactFlow();
		flow.use(own.contacts.createInvite('https://samen.test'));
		expect(t(contactErrorKey(flow.error!))).toBe('This is your own invite. Show it to the other person, or scan theirs.');
		flow.use('https://samen.test/contacts/add#contact=c1AAAA');
		expect(t(contactErrorKey(flow.error!))).toBe('This is not a Samen contact link. Check that the whole link was copied, or ask for a new one.');
		expect(flow.sent).toBeUndefined();
		expect(own.contacts.pending).toEqual([]);
	});
});
