/**
 * The state every screen shares: this browser's session, if it holds an account, and why it was
 * logged out, once it was. The session is a plain object that says `changed`; `app.version` rises
 * on each change, and `watched()` reads it, so a `$derived` that calls `watched()` re-runs.
 */
import type { LogoutReason } from '../identity/account-trust';
import { browserPlatform } from '../platform/browser';
import { Session } from '../session';

export const app = $state({
	loading: true,
	session: undefined as Session | undefined,
	/** Set once the session wiped this device: the screens show why, and nothing else. */
	loggedOut: undefined as LogoutReason | undefined,
	version: 0,
	error: undefined as string | undefined
});

let detach: (() => void)[] = [];

export function adopt(session: Session): void {
	for (const off of detach.splice(0)) off();
	app.session = session;
	detach = [
		session.on('changed', () => app.version++),
		session.on('logged-out', (reason) => {
			app.loggedOut = reason;
			app.version++;
		})
	];
	if (session.loggedOut) app.loggedOut = session.loggedOut;
	else session.connect();
	app.version++;
}

export async function loadSession(): Promise<void> {
	try {
		const session = await Session.restore(browserPlatform());
		if (session) adopt(session);
	} catch (error) {
		app.error = (error as Error).message;
	} finally {
		app.loading = false;
	}
}

/**
 * The session while it holds an account; undefined from the moment it starts logging out, so that
 * no screen reads from storage that is being wiped. Call it inside each `$derived` that reads the
 * session: a derived that holds the session itself returns the same object on every change, and
 * Svelte does not re-run what depends on an unchanged value.
 */
export function watched(): Session | undefined {
	void app.version;
	const session = app.session;
	return session && !session.loggedOut ? session : undefined;
}

/** Between the start of a logout and the end of the wipe. */
export function loggingOut(): boolean {
	void app.version;
	return !!app.session?.loggedOut && !app.loggedOut;
}

/** After a logout: back to the welcome screen, from a fresh page. */
export function startOver(): void {
	location.assign('/');
}
