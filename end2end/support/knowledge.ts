import { expect, type Page } from "@playwright/test";

import { waitForHydration } from "./shell";

/** A short random suffix that keeps names apart between tests. */
export const unique = () => Math.random().toString(36).slice(2, 8);

/** Creates a repository from the list page and waits on its own page. */
export async function newRepository(page: Page, name: string) {
  await page.goto("/knowledge");
  await waitForHydration(page);
  await page.getByText("New repository").click();
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("Description").fill("Lesson material for the term.");
  await page.getByRole("button", { name: "Create repository" }).click();
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
  await waitForHydration(page);
}

/** The item table's row for the item called `name`. */
export function itemRow(page: Page, name: string) {
  return page.getByRole("row").filter({ has: page.getByRole("link", { name }) });
}

/** Pastes each `[title, text]` into the repository page shown and waits until it is ready. */
export async function addTexts(page: Page, texts: [title: string, text: string][]) {
  await page.getByText("Paste text").click();
  for (const [title, text] of texts) {
    await page.getByLabel("Title").fill(title);
    await page.getByLabel("Text", { exact: true }).fill(text);
    await page.getByRole("button", { name: "Add text" }).click();
    await expect(itemRow(page, title)).toContainText("Ready", { timeout: 60_000 });
  }
}

/** Searches the repository page and returns the hits once there is one. */
export async function search(page: Page, query: string, mode: "Both" | "By meaning" | "By words") {
  await page.getByLabel("Search for").fill(query);
  await page.getByLabel(mode).check();
  await page.getByRole("button", { name: "Search", exact: true }).click();
  const hits = page.locator(".hits .hit");
  await expect(hits.first()).toBeVisible();
  return hits;
}
