/** What a user of assistive technology or a finger meets on a screen: axe-core's findings, and controls under 44 px. */
import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';

/** What axe-core finds on the page, as "rule (impact): elements" lines. */
export async function axeViolations(page: Page): Promise<string[]> {
	const { violations } = await new AxeBuilder({ page }).analyze();
	return violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((node) => node.target.join(' ')).join(', ')}`);
}

/** Visible controls smaller than 44×44 px; a link inside a sentence is exempt, as in WCAG. */
export function smallTargets(page: Page): Promise<string[]> {
	return page.evaluate(() => {
		const small: string[] = [];
		for (const element of document.querySelectorAll<HTMLElement>('a[href], button, input, select, textarea, [tabindex]:not([tabindex="-1"])')) {
			const box = element.getBoundingClientRect();
			if (box.width === 0 || box.height === 0) continue;
			if (element.tagName === 'A' && getComputedStyle(element).display === 'inline') continue;
			if (box.width < 44 || box.height < 44)
				small.push(`${element.tagName.toLowerCase()}[${element.dataset.testid ?? element.textContent?.trim().slice(0, 20)}] ${Math.round(box.width)}×${Math.round(box.height)}`);
		}
		return small;
	});
}
