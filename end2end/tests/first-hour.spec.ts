import { expect, type Locator, type Page, test } from "@playwright/test";

import { expectAccessible, expectAccessibleInBothThemes } from "../support/a11y";
import { ADMIN, PASSWORD, accountMenu, signIn, signUp, uniqueEmail } from "../support/auth";
import { addTexts, itemRow, newRepository, search, unique } from "../support/knowledge";
import { FAKE_MODEL, newChat, replies, send, submitMessage } from "../support/chat";
import { waitForHydration } from "../support/shell";

test("a signed-out visit to a signed-in page goes through sign-in and comes back", async ({
  page,
}) => {
  const email = uniqueEmail("visitor");
  await signUp(page, email, "Vic Visitor");
  await page.context().clearCookies();

  for (const wanted of ["/chat", "/knowledge", "/admin/users"]) {
    await page.goto(wanted);
    await expect(page).toHaveURL(`/sign-in?next=${encodeURIComponent(wanted)}`);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Sign in");
    await expect(page.getByText("This could not be shown")).toHaveCount(0);
  }

  await page.goto("/chat");
  await waitForHydration(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL("/chat");
  await expect(accountMenu(page, "Vic Visitor")).toBeVisible();
  await expect(page.getByLabel("Message", { exact: true })).toBeVisible();
});

test("sign-in never sends a person off the site, whatever next says", async ({ page }) => {
  const email = uniqueEmail("careful");
  await signUp(page, email, "Cal Careful");
  await page.context().clearCookies();
  await page.goto(`/sign-in?next=${encodeURIComponent("//evil.example/phish")}`);
  await waitForHydration(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(accountMenu(page, "Cal Careful")).toBeVisible();
  await expect(page).toHaveURL("/");
});

test("the home page shows a visitor the way in and a signed-in person where to start", async ({
  page,
}) => {
  await page.goto("/");
  await waitForHydration(page);
  const main = page.getByRole("main");
  await expect(main.getByRole("link", { name: "Create an account" })).toHaveAttribute(
    "href",
    "/sign-up",
  );
  // Nothing the product does not have yet is promised.
  await expect(main).not.toContainText(/compare|assistant/i);
  await expectAccessible(page);
  await main.getByRole("link", { name: "Start a chat" }).click();
  await expect(page).toHaveURL(`/sign-in?next=${encodeURIComponent("/chat")}`);

  await signUp(page, uniqueEmail("newcomer"), "Nora Newcomer");
  await expect(page).toHaveURL("/");
  await expect(page.getByRole("main")).toContainText("Hello, Nora. Where would you like to start?");
  await expectAccessible(page);
  await page.getByRole("main").getByRole("link", { name: "Start a chat" }).click();
  await expect(page).toHaveURL("/chat");
  await expect(page.getByLabel("Message", { exact: true })).toBeVisible();
});

test("sending while offline says what happened in words, and the text is kept", async ({
  page,
  context,
}) => {
  await signUp(page, uniqueEmail("offline"), "Otto Offline");
  await newChat(page, FAKE_MODEL);
  const box = page.getByLabel("Message", { exact: true });
  await context.setOffline(true);
  await box.fill("Are you there?");
  await submitMessage(page);
  await expect(page.getByRole("alert").filter({ hasText: "could not be reached" })).toHaveText(
    "The server could not be reached. Check the connection and try again.",
  );
  await expect(page.getByText(/TypeError|request failed|server function/)).toHaveCount(0);
  await context.setOffline(false);
  await expect(box).toHaveValue("Are you there?");
});

/** Fails unless `item` lies wholly inside the window and nothing covers its centre. */
async function expectUncovered(page: Page, item: Locator) {
  const box = await item.boundingBox();
  const view = page.viewportSize();
  expect(box && view).toBeTruthy();
  if (!box || !view) return;
  expect(box.x).toBeGreaterThanOrEqual(0);
  expect(box.y).toBeGreaterThanOrEqual(0);
  expect(box.x + box.width).toBeLessThanOrEqual(view.width);
  expect(box.y + box.height).toBeLessThanOrEqual(view.height);
  const onTop = await item.evaluate((el) => {
    const at = el.getBoundingClientRect();
    const hit = document.elementFromPoint(at.x + at.width / 2, at.y + at.height / 2);
    return hit !== null && el.contains(hit);
  });
  expect(onTop, "the item is not covered or clipped").toBe(true);
}

test("menus open above the list, stay in the window and close the way people expect", async ({
  page,
  isMobile,
}) => {
  await signUp(page, uniqueEmail("menus"), "Mia Menus");
  await newChat(page, FAKE_MODEL);
  await send(page, `menus ${Math.random().toString(36).slice(2, 8)}`);
  await expect(replies(page).last()).toContainText("tokens in");

  // One conversation: its whole menu shows, above the list that holds it.
  const list = page.getByRole("navigation", { name: "Conversations" });
  if (isMobile) {
    await page.getByRole("button", { name: "Conversations" }).click();
  }
  const button = list.getByRole("button", { name: /^Actions for/ });
  await button.click();
  await expect(button).toHaveAttribute("aria-expanded", "true");
  const menu = page.locator(".entry-menu-panel");
  for (const name of ["Rename", "Pin", "Archive", "Delete"]) {
    const item = menu.getByRole("button", { name, exact: true });
    await expect(item).toBeVisible();
    await expectUncovered(page, item);
  }
  await expectAccessible(page);

  // Escape closes it and gives focus back to its button.
  await page.keyboard.press("Escape");
  await expect(menu).toBeHidden();
  await expect(button).toBeFocused();
  await expect(button).toHaveAttribute("aria-expanded", "false");

  // So does a click outside it.
  await button.click();
  await expect(menu).toBeVisible();
  await list.getByLabel("Search conversations").click();
  await expect(menu).toBeHidden();

  // Choosing an action closes it.
  await button.click();
  await menu.getByRole("button", { name: "Pin", exact: true }).click();
  await expect(menu).toBeHidden();
  await expect(list.locator("li").first()).toContainText("Pinned");

  // A new page closes it.
  await button.click();
  await expect(menu).toBeVisible();
  await page.evaluate(() => history.back());
  await expect(page).toHaveURL("/chat");
  await expect(menu).toBeHidden();

  // The account menu behaves the same.
  const account = accountMenu(page, "Mia Menus");
  await account.click();
  const panel = page.locator(".user-menu-panel");
  await expect(panel).toBeVisible();
  await expectUncovered(page, panel.getByRole("button", { name: "Sign out" }));
  await expectAccessible(page);
  await page.keyboard.press("Escape");
  await expect(panel).toBeHidden();
  await expect(account).toBeFocused();
});

test("the message box is ready to type into, and Escape closes what is open", async ({
  page,
  isMobile,
}) => {
  await signUp(page, uniqueEmail("keys"), "Kim Keys");
  await page.goto("/chat");
  await waitForHydration(page);
  const box = page.getByLabel("Message", { exact: true });
  if (!isMobile) {
    // A keyboard needs no Tab to reach the message box.
    await expect(box).toBeFocused();
  }
  await page.getByLabel("Model").selectOption({ label: FAKE_MODEL });
  // What the administrator wrote about the model shows under the picker.
  await expect(page.getByLabel("Model")).toHaveAccessibleDescription(
    "Replies from the test server.",
  );
  await box.focus();
  await box.fill(`first ${Math.random().toString(36).slice(2, 8)}`);
  await submitMessage(page);
  await expect(page).toHaveURL(/\/chat\/[0-9a-f-]{36}$/);
  await expect(replies(page).last()).toContainText("tokens in");
  if (!isMobile) {
    // The new conversation's page keeps the focus in the message box.
    await expect(box).toBeFocused();
  }

  if (isMobile) {
    const toggle = page.getByRole("button", { name: "Conversations" });
    await toggle.click();
    const list = page.getByRole("navigation", { name: "Conversations" });
    await expect(list).toBeVisible();
    await page.keyboard.press("Escape");
    await expect(list).toBeHidden();
    await expect(toggle).toBeFocused();
  }
});

test("the message box leaves the focus where the person put it before the page was ready", async ({
  page,
  isMobile,
}) => {
  test.skip(isMobile, "on a touch screen the message box never takes the focus by itself");
  await signUp(page, uniqueEmail("early"), "Eli Early");
  // The person reaches the account menu while the page is still loading.
  await page.addInitScript(() => {
    document.addEventListener("DOMContentLoaded", () => {
      document.querySelector<HTMLElement>("button.user-menu-button")?.focus();
    });
  });
  await page.goto("/chat");
  await waitForHydration(page);
  const account = accountMenu(page, "Eli Early");
  // A few frames later the focus is still theirs.
  await page.evaluate(
    () =>
      new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(null)))),
  );
  await expect(account).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.locator(".user-menu-panel")).toBeVisible();
});

test("on a touch screen Enter starts a new line and Send sends", async ({ page, isMobile }) => {
  test.skip(!isMobile, "touch keyboards only");
  await signUp(page, uniqueEmail("thumbs"), "Tia Thumbs");
  await newChat(page, FAKE_MODEL);
  const box = page.getByLabel("Message", { exact: true });
  await expect(box).toHaveAttribute("placeholder", "Message");
  // The model, knowledge and attachment tools take two rows, not three.
  const rows = await page.locator(".composer-tools").evaluate((toolbar) => {
    const middles = [...toolbar.children]
      .filter((child) => getComputedStyle(child).position !== "absolute")
      .map((child) => child.getBoundingClientRect())
      .filter((box) => box.height > 0)
      .map((box) => box.top + box.height / 2)
      .sort((a, b) => a - b);
    return middles.filter((middle, i) => i === 0 || middle - middles[i - 1] > 20).length;
  });
  expect(rows).toBeLessThanOrEqual(2);
  await expect(page.getByLabel("Attach documents")).toBeAttached();
  await box.click();
  await page.keyboard.type("Dear parents,");
  await page.keyboard.press("Enter");
  await page.keyboard.press("Enter");
  await page.keyboard.type("the trip is on Friday.");
  await expect(box).toHaveValue("Dear parents,\n\nthe trip is on Friday.");
  await expect(page).toHaveURL("/chat");
  await page.getByRole("button", { name: "Send", exact: true }).click();
  await expect(page).toHaveURL(/\/chat\/[0-9a-f-]{36}$/);
  await expect(page.locator("article.message.user").last()).toContainText("the trip is on Friday.");
  await expect(replies(page).last()).toContainText("tokens in");
});

test("what is typed before the page is interactive is kept, and an early Send sends it", async ({
  page,
}) => {
  await signUp(page, uniqueEmail("early"), "Eli Early");
  // The page's script waits until the test lets it through, as on a slow phone link.
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  await page.route(/\.wasm$/, async (route) => {
    await released;
    await route.continue();
  });

  await page.goto("/chat");
  const box = page.getByLabel("Message", { exact: true });
  await box.fill("Typed while the page was loading");
  release();
  await waitForHydration(page);
  await expect(box).toHaveValue("Typed while the page was loading");

  // Sent before the script starts: the form goes to the server and nothing is lost.
  let releaseAgain = () => {};
  const releasedAgain = new Promise<void>((resolve) => (releaseAgain = resolve));
  await page.unroute(/\.wasm$/);
  await page.route(/\.wasm$/, async (route) => {
    await releasedAgain;
    await route.continue();
  });
  await page.goto("/chat");
  await page.getByLabel("Model").selectOption({ label: FAKE_MODEL });
  await box.fill("Sent before the script started");
  await page.getByRole("button", { name: "Send", exact: true }).click();
  await expect(page).toHaveURL(/\/chat\/[0-9a-f-]{36}$/);
  releaseAgain();
  await waitForHydration(page);
  await expect(page.locator("article.message.user").last()).toContainText(
    "Sent before the script started",
  );
  await expect(replies(page).last()).toContainText("tokens in");
});

test("answers show tables, code and quotes properly, with nothing the page refuses", async ({
  page,
  isMobile,
}) => {
  const refused: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") refused.push(message.text());
  });
  await signUp(page, uniqueEmail("answers"), "Ann Answers");
  await newChat(page, FAKE_MODEL);
  await send(
    page,
    [
      "Marks:",
      "",
      "| Pupil | Attainment | Effort | Homework | Behaviour | Attendance | Mark |",
      "|:--|---|---|---|---|---|--:|",
      "| Alexandrina Featherstonehaugh | Excellent | Good | Complete | Exemplary | Perfect | 17 |",
      "",
      "```rust",
      'fn main() { println!("hello"); }',
      "```",
      "",
      "> Measure twice, cut once.",
    ].join("\n"),
  );
  const reply = replies(page).last();
  await expect(reply).toContainText("tokens in");
  // Finished and streamed renderings alike: no inline style for the page to refuse.
  await expect(reply.locator("td.align-right")).toHaveText("17");
  await expect(reply.locator("[style]")).toHaveCount(0);
  // Words stay whole (a wide table scrolls): every header is one line.
  const headers = reply.locator("th");
  await expect(headers).toHaveCount(7);
  for (const height of await headers.evaluateAll((cells) => cells.map((c) => c.clientHeight))) {
    expect(height).toBeLessThan(40);
  }

  const block = reply.locator(".code-block");
  await expect(block.locator(".code-language")).toHaveText("rust");
  const copy = block.getByRole("button", { name: "Copy" });
  const copyBox = await copy.boundingBox();
  const codeBox = await block.locator("pre").boundingBox();
  expect(copyBox && codeBox).toBeTruthy();
  if (copyBox && codeBox) {
    // The button sits above the code, not over it.
    expect(copyBox.y + copyBox.height).toBeLessThanOrEqual(codeBox.y + 1);
  }
  const quote = reply.locator("blockquote");
  await expect(quote).toHaveText("Measure twice, cut once.");
  expect(await quote.evaluate((el) => getComputedStyle(el).borderLeftWidth)).not.toBe("0px");
  await expectAccessible(page);
  expect(refused.filter((text) => /Content Security Policy|style-src/.test(text))).toEqual([]);
  if (isMobile) {
    // On a phone the table scrolls inside the answer, not the page.
    const pageWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(pageWidth).toBeLessThanOrEqual(page.viewportSize()?.width ?? 0);
  }
});

test("what a form did is said beside it, and sharing says who still cannot open it", async ({
  page,
}) => {
  await signIn(page, ADMIN.email, ADMIN.name);
  await newRepository(page, `Shared ${unique()}`);
  await page.getByText("Settings and sharing").click();
  const sharing = page.locator("form", { hasText: "Share (read-only)" });

  // An unknown address: the reason is beside the button that was pressed, in view.
  await sharing.getByLabel("With people (email addresses)").fill("nobody-here@school.test");
  await sharing.getByRole("button", { name: "Save sharing" }).click();
  const said = sharing.getByRole("status");
  await expect(said).toHaveText("No user has the address nobody-here@school.test.");
  await expect(said).toBeInViewport();

  // Students hold no Knowledge tool: the owner is told what sharing with them means.
  await sharing.getByLabel("With people (email addresses)").fill("");
  await sharing.getByLabel("student").check();
  await sharing.getByRole("button", { name: "Save sharing" }).click();
  await expect(said).toContainText(
    "Sharing saved. The role student does not include the Knowledge tool",
  );
  await expect(said).toBeInViewport();
  await expectAccessible(page);
});

test("the admin pages read as sentences about people and tools", async ({ page }) => {
  const email = uniqueEmail("joiner");
  await signUp(page, email, "Jo Joiner");
  await page.context().clearCookies();
  await signIn(page, ADMIN.email, ADMIN.name);

  await page.goto("/admin/users");
  await waitForHydration(page);
  // Someone who signed up and was let in by their mail's link has signed in.
  await page.getByLabel("Search users").fill(email);
  await page.getByRole("button", { name: "Search" }).click();
  const joiner = page.getByRole("row", { name: email });
  await expect(joiner).toBeVisible();
  await expect(joiner).not.toContainText("never");
  // The administrator is not offered what the server refuses to do to their own account.
  await page.getByLabel("Search users").fill(ADMIN.email);
  await page.getByRole("button", { name: "Search" }).click();
  const own = page.getByRole("row", { name: ADMIN.email });
  await expect(own).toContainText("This is you");
  await expect(own.getByRole("button", { name: /^Disable/ })).toHaveCount(0);
  await expect(own.getByRole("button", { name: /^Delete/ })).toHaveCount(0);

  await page.goto("/admin/roles");
  await waitForHydration(page);
  const matrix = page.getByRole("table");
  await expect(matrix.getByRole("columnheader", { name: "Chat", exact: true })).toBeVisible();
  await expect(
    matrix.getByRole("columnheader", { name: "Prompt library (coming later)" }),
  ).toBeVisible();
  await expect(page.getByText(/\b1 users\b/)).toHaveCount(0);
  await expectAccessible(page);
});

test("a reply that finishes leaves the reader where they were", async ({ page }) => {
  await signUp(page, uniqueEmail("reader"), "Rae Reader");
  await newChat(page, FAKE_MODEL);
  // A long first exchange: the conversation is taller than the window.
  await send(page, Array.from({ length: 40 }, (_, i) => `Paragraph ${i + 1}.`).join("\n\n"));
  await expect(replies(page).last()).toContainText("tokens in");
  for (const reload of [false, true]) {
    await send(page, `slow ${unique()}`);
    await expect(page.locator(".markdown.streaming")).toContainText("two");
    if (reload) {
      // Reloaded while it streams: the page opens at the end, then the reader scrolls up.
      await page.reload();
      await waitForHydration(page);
      await expect.poll(() => page.evaluate(() => window.scrollY)).toBeGreaterThan(0);
    }
    await page.evaluate(() => window.scrollTo(0, 0));
    // The reply ends and is drawn finished: two frames later the reader is still at the top.
    await expect(page.locator(".markdown.streaming")).toHaveCount(0, { timeout: 20_000 });
    await expect(replies(page).last()).toContainText("tokens in");
    await page.evaluate(
      () => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))),
    );
    expect(await page.evaluate(() => window.scrollY)).toBeLessThan(50);
  }
});

/** Checks that a page's data tables fit the window and read as cards, cell under cell. */
async function expectCards(page: Page) {
  const table = page.locator(".data-table").first();
  await expect(table).toBeVisible();
  // Nothing scrolls sideways: not the page, not a table's box.
  const overflow = await page.evaluate(() =>
    Math.max(
      document.documentElement.scrollWidth - window.innerWidth,
      ...[...document.querySelectorAll(".table-scroll")].map(
        (box) => box.scrollWidth - box.clientWidth,
      ),
    ),
  );
  expect(overflow).toBeLessThanOrEqual(0);
  // A row's cells are one under another, each named by its column.
  const cells = table.locator("tbody tr").first().locator("td[data-label]");
  const [upper, lower] = [await cells.nth(0).boundingBox(), await cells.nth(1).boundingBox()];
  expect(lower!.y).toBeGreaterThanOrEqual(upper!.y + upper!.height - 1);
  const named = await cells
    .nth(1)
    .evaluate((cell) => [getComputedStyle(cell, "::before").content, cell.dataset.label]);
  expect(named[0]).toContain(`"${named[1]}"`);
  // The name is seen, not read: the cell's accessible name is its own text.
  const text = (await cells.nth(1).innerText()).trim();
  if (text) await expect(cells.nth(1)).toHaveAccessibleName(text);
}

test("on a phone the admin and knowledge tables are cards that never scroll sideways", async ({
  page,
  isMobile,
}) => {
  test.skip(!isMobile, "narrow screens only");
  test.setTimeout(90_000);
  await signIn(page, ADMIN.email, ADMIN.name);
  for (const path of ["/admin/users", "/admin/models", "/admin/audit", "/admin/roles"]) {
    await page.goto(path);
    await waitForHydration(page);
    await expectCards(page);
  }
  // The roles grid: each tool's box beside its name, on its own line.
  const chat = page.getByRole("checkbox", { name: "Chat for administrator" });
  await expect(chat).toBeInViewport();

  await newRepository(page, `Cards ${unique()}`);
  await page.getByText("Paste text").click();
  await page.getByLabel("Title").fill("Seating plan");
  await page.getByLabel("Text", { exact: true }).fill("Rows of four by the windows.");
  await page.getByRole("button", { name: "Add text" }).click();
  await expect(page.getByRole("row", { name: /Seating plan/ })).toBeVisible();
  await expectCards(page);
  await page.goto("/knowledge");
  await waitForHydration(page);
  await expectCards(page);
  await expectAccessibleInBothThemes(page);
});

test("knowledge search shows only what matches, and says how in plain words", async ({ page }) => {
  test.setTimeout(90_000);
  await signIn(page, ADMIN.email, ADMIN.name);
  await newRepository(page, `History ${unique()}`);
  await addTexts(page, [
    ["Treaty", "The Treaty of Westphalia ended the Thirty Years' War in 1648."],
    ["Seating", "Rows of four by the windows, and a quiet corner at the back."],
  ]);

  // "a", "of" and "the" are in both; only the treaty holds "treaty".
  const hits = await search(page, "a history of the treaty", "By words");
  await expect(hits).toHaveCount(1);
  await expect(hits.first()).toContainText("contains treaty");
  await expect(hits.first()).not.toContainText(/\b0%/);
  // Nothing is about football: the nearest passages are not offered as hits.
  await page.getByLabel("Search for").fill("football transfer rumours");
  await page.getByLabel("Both").check();
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await expect(page.getByText("Nothing matched.")).toBeVisible();
  // The balance between meaning and words says what it does.
  const balance = page.getByRole("slider", { name: /Meaning or exact words/ });
  await expect(balance).toHaveAccessibleDescription(/Toward meaning finds passages/);
  await expect(balance).toHaveAttribute("aria-valuetext", "70% meaning, 30% words");
  await expectAccessibleInBothThemes(page);
});

test("an answer's sources are the relevant ones, those it cites first", async ({ page }) => {
  test.setTimeout(90_000);
  await signIn(page, ADMIN.email, ADMIN.name);
  const repository = `Rocks ${unique()}`;
  await newRepository(page, repository);
  await addTexts(page, [
    ["Pumice", "Pumice is a volcanic rock so light that it floats on water."],
    ["Basalt", "Basalt is a dark volcanic rock; dropped in water it sinks."],
    ["Seating plan", "Rows of four by the windows, and a quiet corner at the back."],
  ]);

  await newChat(page, FAKE_MODEL);
  await page.locator("summary", { hasText: "Knowledge" }).click();
  await page.getByLabel(repository).check();
  // The fake model answers with the question: this answer cites source 2 only.
  await send(page, "Which volcanic rock floats on water? [2]");
  const sources = replies(page).last().getByRole("region", { name: "Sources" });
  const listed = sources.locator("li");
  await expect(listed).toHaveCount(2);
  await expect(listed.first()).toContainText("[2]");
  await expect(listed.first()).not.toContainText("not cited");
  await expect(listed.nth(1)).toContainText("[1]");
  await expect(listed.nth(1)).toContainText("not cited in the answer");
  await expect(sources).not.toContainText("Seating plan");
  await expectAccessibleInBothThemes(page);
});

test("a long form takes the person to the first field it cannot save, and says why there", async ({
  page,
}) => {
  await signIn(page, ADMIN.email, ADMIN.name);
  await page.goto("/admin/models");
  await waitForHydration(page);
  await page.getByRole("button", { name: "Add model" }).click();
  await page.getByLabel("Model id at the provider").fill(`tutor-${unique()}`);
  await page.getByLabel("Display name").fill(`Tutor ${unique()}`);
  const context = page.getByLabel("Context window (tokens)");
  const price = page.getByLabel("Output price ($ per 1M tokens)");
  await context.fill("lots");
  await price.fill("ten cents");
  const save = page.getByRole("button", { name: "Save model" });
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  await save.click();
  // The first field in error has the focus, in view, with the reason under it.
  await expect(context).toBeFocused();
  await expect(context).toBeInViewport();
  await expect(context).toHaveAttribute("aria-invalid", "true");
  await expect(context).toHaveAccessibleDescription(
    "The context window must be a whole number of tokens, such as 128000.",
  );
  await expectAccessibleInBothThemes(page);
  // Mended, the next one is shown; the mended field is no longer marked.
  await context.fill("128000");
  await save.click();
  await expect(price).toBeFocused();
  await expect(price).toHaveAccessibleDescription(
    "The output price must be a number of dollars, such as 0.15.",
  );
  await expect(context).not.toHaveAttribute("aria-invalid", "true");
  await page.getByRole("button", { name: "Cancel" }).click();
});

test("folders are groups in the conversation list, filled from each conversation's menu", async ({
  page,
  isMobile,
}) => {
  await signUp(page, uniqueEmail("sorter"), "Sam Sorter");
  for (const text of ["fractions homework", "trip to the museum"]) {
    await newChat(page, FAKE_MODEL);
    await send(page, text);
    await expect(replies(page).last()).toContainText("tokens in");
  }
  const list = page.getByRole("navigation", { name: "Conversations" });
  if (isMobile) await page.getByRole("button", { name: "Conversations" }).click();
  await list.getByRole("button", { name: "New folder" }).click();
  await list.getByLabel("Name of the new folder").fill("Maths");
  await list.getByRole("button", { name: "Create" }).click();
  await expect(list.getByLabel("Folder", { exact: true })).toHaveValue(/[0-9a-f-]{36}/);
  await list.getByLabel("Folder", { exact: true }).selectOption({ label: "All conversations" });

  // The folder is a group of the list, empty for now.
  const group = list.locator("details.folder-group", { hasText: "Maths" });
  await expect(group.locator("summary")).toContainText("0 conversations");
  const entry = list.locator("li", { hasText: "fractions homework" });
  await entry.getByLabel(/Actions for/).click();
  await entry.getByLabel("Move to folder").selectOption({ label: "Maths" });
  await expect(group.locator("summary")).toContainText("1 conversation");
  await expect(group.locator("li")).toHaveCount(1);
  await expect(group.locator("li")).toContainText("fractions homework");
  // The other stays outside any folder.
  await expect(list.locator("li", { hasText: "trip to the museum" })).toBeVisible();
  await expect(group.locator("li", { hasText: "trip to the museum" })).toHaveCount(0);
  await expectAccessibleInBothThemes(page);
  // The group folds away and opens again.
  await group.locator("summary").click();
  await expect(group.locator("li")).toBeHidden();
  await group.locator("summary").press("Enter");
  await expect(group.locator("li")).toBeVisible();
  // A search lists what matches, without the groups.
  await list.getByLabel("Search conversations").fill("museum");
  await expect(list.locator("details.folder-group")).toHaveCount(0);
  await expect(list.locator("li")).toHaveCount(1);
  await expect(list.locator("li")).toContainText("trip to the museum");
});

test("a new chat is titled by its model after the first reply, in plain text until then", async ({
  page,
  isMobile,
}) => {
  await signUp(page, uniqueEmail("titles"), "Tia Titles");
  await newChat(page, FAKE_MODEL);
  const word = `volcanoes${unique()}`;
  await send(page, `## Lesson on *${word}*\nFor year 8.`);
  await expect(replies(page).last()).toContainText("tokens in");
  const list = page.getByRole("navigation", { name: "Conversations" });
  const entry = list.locator("li.current");
  // The model's title arrives in the background; the list shows it when it next loads.
  await expect(async () => {
    await page.reload();
    await waitForHydration(page);
    if (isMobile) await page.getByRole("button", { name: "Conversations" }).click();
    await expect(entry).toContainText(`Lesson on ${word} (titled)`, { timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
  await expect(entry).not.toContainText("#");
  await expect(entry).not.toContainText("*");
});
