import { expect, test } from "@playwright/test";

import { expectAccessible } from "../support/a11y";
import { ADMIN, signIn, signUp, uniqueEmail } from "../support/auth";
import {
  ADMIN_ONLY_MODEL,
  BUILTIN_MODEL,
  FAKE_MODEL,
  newChat,
  replies,
  send,
  serverFn,
  submitMessage,
} from "../support/chat";
import { docx } from "../support/documents";
import { waitForHydration } from "../support/shell";

const unique = () => Math.random().toString(36).slice(2, 8);

test("a student watches the built-in model stream a reply and stops it", async ({ page }) => {
  // The built-in model runs on the server's CPU, one reply at a time for every test.
  test.setTimeout(180_000);
  await signUp(page, uniqueEmail("pupil"), "Chatty Pupil");
  await newChat(page, BUILTIN_MODEL);
  await expect(page.getByText("A tiny demo model")).toBeVisible();
  await send(page, "Write a long story about a brave little robot.");
  await expect(page.locator("article.message.user")).toContainText("brave little robot");

  // Words arrive while the reply is still being written.
  const live = page.locator(".markdown.streaming");
  await expect(live).toHaveText(/\w+ \w+/, { timeout: 120_000 });
  const stop = page.getByRole("button", { name: "Stop" });
  await expect(stop).toBeVisible();
  await stop.click();

  const reply = replies(page).last();
  await expect(reply).toContainText("Stopped", { timeout: 30_000 });
  await expect(reply.locator(".markdown")).toHaveText(/\w+/);
  await expect(reply).toContainText("tokens in");
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();

  // A new chat, even after a fresh load, starts with the model used last.
  await page.goto("/chat");
  await waitForHydration(page);
  await expect(page.getByLabel("Model").locator("option:checked")).toHaveText(BUILTIN_MODEL);
});

test("a reply streams, shows its cost, and regenerates as a branch", async ({ page }) => {
  await signUp(page, uniqueEmail("pupil"), "Branch Pupil");
  await newChat(page, FAKE_MODEL);
  const question = `hello ${unique()}`;
  await send(page, question);
  const first = replies(page).last();
  await expect(first.locator(".markdown")).toHaveText(new RegExp(`^Echo \\d+: ${question}\\s*$`));
  // 12 tokens in at $1/M and the pieces out at $2/M.
  await expect(first).toContainText(/12 tokens in · \d+ out · \$0\.0000\d+/);
  const firstText = await first.locator(".markdown").innerText();

  await first.getByRole("button", { name: "Regenerate" }).click();
  await expect(replies(page).last().getByText("2 / 2")).toBeVisible();
  const second = replies(page).last().locator(".markdown");
  await expect(second).toHaveText(new RegExp(`^Echo \\d+: ${question}\\s*$`));
  const secondText = await second.innerText();
  expect(secondText).not.toBe(firstText);

  const versions = replies(page).last().getByRole("group", { name: "Versions" });
  // At the last version: "next" is disabled and the group shows only its arrows and count.
  await expect(versions.getByRole("button", { name: "Next version" })).toBeDisabled();
  await expect(versions).not.toContainText("=");
  await versions.getByRole("button", { name: "Previous version" }).click();
  await expect(replies(page).last().getByText("1 / 2")).toBeVisible();
  await expect(replies(page).last().locator(".markdown")).toHaveText(firstText);
  // And back again.
  const back = replies(page).last().getByRole("group", { name: "Versions" });
  await expect(back.getByRole("button", { name: "Previous version" })).toBeDisabled();
  await back.getByRole("button", { name: "Next version" }).click();
  await expect(replies(page).last().getByText("2 / 2")).toBeVisible();
  await expect(replies(page).last().locator(".markdown")).toHaveText(secondText);
  await expectAccessible(page);
});

test("a turn in an open conversation is one request and the reply's stream", async ({
  page,
  isMobile,
}) => {
  await signUp(page, uniqueEmail("pupil"), "Quick Pupil");
  const older = `walrus${unique()}`;
  await newChat(page, FAKE_MODEL);
  await send(page, `first about ${older}`);
  await expect(replies(page).last()).toContainText("tokens in");
  await newChat(page, FAKE_MODEL);
  await send(page, "a newer topic");
  await expect(replies(page).last()).toContainText("tokens in");

  // Back in the older conversation, now second in the list.
  const list = page.getByRole("navigation", { name: "Conversations" });
  if (isMobile) await page.getByRole("button", { name: "Conversations" }).click();
  await expect(list.locator("li").nth(1)).toContainText(older);
  await list.getByRole("link", { name: new RegExp(older) }).click();
  await expect(page.locator("article.message.user")).toContainText(older);
  await expect(replies(page).last()).toContainText("tokens in");

  const usage = page.getByLabel("Conversation usage");
  const before = await usage.innerText();
  const asked: string[] = [];
  page.on("request", (request) => {
    const path = new URL(request.url()).pathname;
    if (path.startsWith("/api/")) asked.push(`${request.method()} ${path}`);
  });
  const question = `then ${unique()}`;
  const box = page.getByLabel("Message", { exact: true });
  await box.fill(question);
  await submitMessage(page);
  // The message and the finished reply are shown, with the conversation's new totals.
  await expect(page.locator("article.message.user").last()).toContainText(question);
  const reply = replies(page).last();
  await expect(reply.locator(".markdown")).toHaveText(new RegExp(`^Echo \\d+: ${question}\\s*$`));
  await expect(reply).toContainText("tokens in");
  await expect(reply.getByRole("button", { name: "Regenerate" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
  await expect(usage).not.toHaveText(before);
  await expect(usage).toContainText("tokens in");
  // Nothing was reloaded: the send, then the reply's events.
  expect(asked).toEqual([
    "POST /api/chat/send",
    expect.stringMatching(/^GET \/api\/chat\/replies\/[0-9a-f-]{36}\/events$/),
  ]);
  // The list moved the conversation to the top without asking the server.
  if (isMobile) await page.getByRole("button", { name: "Conversations" }).click();
  await expect(list.locator("li").first()).toContainText(older);
});

test("conversations are renamed, pinned, found and archived", async ({ page, isMobile }) => {
  await signUp(page, uniqueEmail("pupil"), "Tidy Pupil");
  const word = `zebra${unique()}`;
  await newChat(page, FAKE_MODEL);
  await send(page, `tell me about ${word}`);
  await expect(replies(page).last()).toContainText("tokens in");
  await newChat(page, FAKE_MODEL);
  await send(page, "another topic");
  await expect(replies(page).last()).toContainText("tokens in");

  const list = page.getByRole("navigation", { name: "Conversations" });
  const openList = async () => {
    if (isMobile) {
      await page.getByRole("button", { name: "Conversations" }).click();
    }
    await expect(list).toBeVisible();
  };
  await openList();
  const entry = list.locator("li", { hasText: word });
  await entry.getByLabel(/Actions for/).click();
  await entry.getByRole("button", { name: "Rename" }).click();
  await list.getByLabel("New title").fill(`Stripes ${word}`);
  // The list reloads after each change: wait for it before using its menus again.
  const reloaded = () => page.waitForResponse("**/api/chat/conversations");
  let listed = reloaded();
  await list.getByLabel("New title").press("Enter");
  await listed;
  const renamed = list.locator("li", { hasText: `Stripes ${word}` });
  await expect(renamed).toBeVisible();

  await renamed.getByLabel(/Actions for/).click();
  listed = reloaded();
  await renamed.getByRole("button", { name: "Pin" }).click();
  await listed;
  await expect(list.locator("li").first()).toContainText("Pinned");
  await expect(list.locator("li").first()).toContainText(`Stripes ${word}`);

  // Found by a word of the message, typed in part.
  await list.getByLabel("Search conversations").fill(word.slice(0, 7));
  await expect(list.locator("li")).toHaveCount(1);
  await list.getByLabel("Search conversations").fill("");
  await expect(list.locator("li")).toHaveCount(2);

  await renamed.getByLabel(/Actions for/).click();
  await renamed.getByRole("button", { name: "Archive" }).click();
  await expect(list.locator("li")).toHaveCount(1);
  await list.getByLabel("Show archived").check();
  await expect(list.locator("li", { hasText: `Stripes ${word}` })).toBeVisible();
});

test("a reload while a reply streams picks the stream up again", async ({ page }) => {
  await signUp(page, uniqueEmail("pupil"), "Reload Pupil");
  await newChat(page, FAKE_MODEL);
  await send(page, `slow ${unique()}`);
  await expect(page.locator(".markdown.streaming")).toContainText("two");
  // The model's reasoning shows while it writes, and again after the reload.
  await expect(page.locator(".reasoning")).toContainText("Weighing the words.");
  await page.reload();
  await waitForHydration(page);
  const reply = replies(page).last();
  await expect(reply.locator(".reasoning")).toContainText("Weighing the words.");
  const answer = reply.locator(".markdown").last();
  await expect(answer).toContainText("The end.", { timeout: 20_000 });
  await expect(answer).toContainText("one two three");
  await expect(reply).toContainText("tokens in");
});

test("provider failures say what happened and keep what came", async ({ page }) => {
  await signUp(page, uniqueEmail("pupil"), "Failing Pupil");
  await newChat(page, FAKE_MODEL);
  await send(page, "fail before anything");
  // The kind of failure, not the provider's own words (those go to the server log).
  await expect(replies(page).last()).toContainText(
    "The provider refused the request: the request was not accepted",
  );
  await expect(replies(page).last()).not.toContainText("The fake model refuses this request");

  await send(page, "fail during the reply");
  const reply = replies(page).last();
  await expect(reply).toContainText("What came before is kept.");
  await expect(reply.locator(".markdown")).toHaveText("Partial answer before the cut");
  await expect(reply).toContainText("broke off");
});

test("markdown attacks from a model render as text", async ({ page }) => {
  await signUp(page, uniqueEmail("pupil"), "Careful Pupil");
  await newChat(page, FAKE_MODEL);
  await send(page, "xss please");
  const reply = replies(page).last();
  await expect(reply).toContainText("tokens in");
  const markdown = reply.locator(".markdown");
  await expect(markdown).toContainText("<script>window.__pwned = 1</script>");
  await expect(markdown).toContainText('<img src=x onerror="window.__pwned = 2">');
  await expect(markdown.locator("strong")).toHaveText("still bold");
  await expect(markdown.locator("script, img, iframe")).toHaveCount(0);
  for (const link of await markdown.locator("a").all()) {
    expect(await link.getAttribute("href")).not.toMatch(/^\s*javascript:/i);
  }
  // Clicking the neutralised links runs nothing.
  await markdown.getByText("click me").click();
  expect(await page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();
});

test("finished replies show highlighted code, typeset math and the model's reasoning", async ({
  page,
}) => {
  await signUp(page, uniqueEmail("coder"), "Code Pupil");
  await newChat(page, FAKE_MODEL);
  await send(page, "rich please");
  const reply = replies(page).last();
  await expect(reply).toContainText("tokens in");
  const markdown = reply.locator(".markdown").last();
  const code = markdown.locator("pre.hl-code code.language-python");
  await expect(code).toContainText("def add(a, b):");
  expect(await code.locator("span[class^='hl-']").count()).toBeGreaterThan(3);
  // MathML (two inline formulas, one display formula), each keeping its TeX; TeX that does
  // not parse stays as its source.
  await expect(markdown.locator("math")).toHaveCount(3);
  await expect(markdown.locator("math[display='block']")).toHaveCount(1);
  await expect(markdown.locator(".math-display")).toContainText("\\begin{array}");
  await expect(markdown.locator("annotation").first()).toHaveText("e^{i\\pi} + 1 = 0");
  // TeX cannot smuggle markup in.
  await expect(markdown.locator("img")).toHaveCount(0);
  expect(await page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();
  await reply.locator(".reasoning summary").click();
  await expect(reply.locator(".reasoning")).toContainText("Thinking about a small example.");
  await expectAccessible(page);

  // The conversation comes back rendered the same way.
  await page.reload();
  await waitForHydration(page);
  await expect(replies(page).last().locator("pre.hl-code")).toBeVisible();
  await expect(replies(page).last().locator("math")).toHaveCount(3);
});

test("a student cannot pick or call an administrators-only model", async ({ page, browser }) => {
  const admin = await browser.newContext();
  const adminPage = await admin.newPage();
  await signIn(adminPage, ADMIN.email, ADMIN.name);
  const catalogue = JSON.parse((await serverFn(adminPage, "admin/models", {})).body) as {
    models: { id: string; display_name: string }[];
  };
  const adminOnly = catalogue.models.find((m) => m.display_name === ADMIN_ONLY_MODEL)!;
  await adminPage.goto("/chat");
  await waitForHydration(adminPage);
  await expect(
    adminPage.getByLabel("Model").locator("option", { hasText: ADMIN_ONLY_MODEL }),
  ).toHaveCount(1);
  await admin.close();

  await signUp(page, uniqueEmail("pupil"), "Curious Pupil");
  await page.goto("/chat");
  await waitForHydration(page);
  const options = page.getByLabel("Model").locator("option");
  await expect(options.filter({ hasText: FAKE_MODEL })).toHaveCount(1);
  await expect(options.filter({ hasText: ADMIN_ONLY_MODEL })).toHaveCount(0);

  // Asking the server directly is refused too.
  const forced = await serverFn(page, "chat/send", {
    conversation_id: null,
    replacing: null,
    model_id: adminOnly.id,
    text: "let me in",
    images: [],
    repositories: [],
  });
  expect(forced.status).toBe(400);
  expect(forced.body).toContain("You cannot use that model");
});

/** The eight-byte PNG signature and a header chunk: enough to be told a PNG. */
const PNG = Buffer.from("89504e470d0a1a0a0000000d49484452000000010000000108020000", "hex");

test("images go to models that read them, and only real images are taken", async ({ page }) => {
  await signUp(page, uniqueEmail("pupil"), "Picture Pupil");
  await newChat(page, FAKE_MODEL);
  const input = page.getByLabel("Attach images");
  await input.setInputFiles({
    name: "notes.png",
    mimeType: "image/png",
    buffer: Buffer.from("plain text"),
  });
  await expect(page.getByRole("alert")).toHaveText(
    "notes.png is not a PNG, JPEG, WebP or GIF image.",
  );

  await input.setInputFiles({ name: "dot.png", mimeType: "image/png", buffer: PNG });
  const attached = page.getByRole("list", { name: "Images to send" });
  await expect(attached).toContainText("dot.png");
  await send(page, "what is this");
  await expect(page.locator("article.message.user img")).toHaveAttribute(
    "alt",
    "Image 1 sent with the message",
  );
  await expect(replies(page).last().locator(".markdown")).toContainText("what is this (1 image)");
  await expect(attached).toBeHidden();
  await expectAccessible(page);

  // An edit keeps the image.
  const question = page.locator("article.message.user").last();
  await question.getByRole("button", { name: "Edit" }).click();
  await expect(question).toContainText("The edited message keeps its images.");
  await question.getByLabel("Edit your message").fill("and this");
  await question.getByRole("button", { name: "Send" }).click();
  await expect(replies(page).last().locator(".markdown")).toContainText("and this (1 image)");
  await expect(page.locator("article.message.user img")).toHaveCount(1);
});

test("documents attached to a message are read and their text reaches the model", async ({
  page,
}) => {
  await signUp(page, uniqueEmail("pupil"), "Document Pupil");
  await newChat(page, FAKE_MODEL);
  const input = page.getByLabel("Attach documents");
  // Not what its name says.
  await input.setInputFiles({ name: "essay.pdf", mimeType: "application/pdf", buffer: PNG });
  await expect(page.getByRole("alert")).toHaveText(
    "essay.pdf is in fact a .png file, which cannot be read as a document",
  );

  await input.setInputFiles({
    name: "Lab report.docx",
    mimeType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    buffer: docx("Fermentation", ["Yeast turns sugar into ethanol and carbon dioxide."]),
  });
  const attached = page.getByRole("list", { name: "Documents to send" });
  await expect(attached).toContainText("Lab report.docx");
  await send(page, "what does yeast make");
  const question = page.locator("article.message.user").last();
  await expect(
    question.getByRole("list", { name: "Documents sent with the message" }),
  ).toContainText("Lab report.docx");
  // The fake model echoes what it was sent: the document's text came with the question.
  const answer = replies(page).last().locator(".markdown");
  await expect(answer).toContainText("Yeast turns sugar into ethanol");
  await expect(answer).toContainText("what does yeast make");
  await expect(attached).toBeHidden();
  await expectAccessible(page);
});

test("conversations are sorted into folders", async ({ page, isMobile }) => {
  await signUp(page, uniqueEmail("pupil"), "Folder Pupil");
  const word = `biology${unique()}`;
  await newChat(page, FAKE_MODEL);
  await send(page, `cells ${word}`);
  await expect(replies(page).last()).toContainText("tokens in");
  await newChat(page, FAKE_MODEL);
  await send(page, "history of maps");
  await expect(replies(page).last()).toContainText("tokens in");

  const list = page.getByRole("navigation", { name: "Conversations" });
  if (isMobile) await page.getByRole("button", { name: "Conversations" }).click();
  // A small form in place, not the browser's prompt box.
  await list.getByRole("button", { name: "New folder" }).click();
  await list.getByLabel("Name of the new folder").fill("Science");
  await list.getByRole("button", { name: "Create" }).click();
  // The new folder is shown, and empty.
  await expect(list.getByLabel("Folder", { exact: true })).toHaveValue(/[0-9a-f-]{36}/);
  await expect(list.locator("li")).toHaveCount(0);
  await list.getByLabel("Folder", { exact: true }).selectOption({ label: "All conversations" });

  const entry = list.locator("li", { hasText: word });
  await entry.getByLabel(/Actions for/).click();
  const moved = page.waitForResponse((r) => r.url().endsWith("/api/chat/move"));
  await entry.getByLabel("Move to folder").selectOption({ label: "Science" });
  expect((await moved).status()).toBe(200);
  await list.getByLabel("Folder", { exact: true }).selectOption({ label: "Science" });
  await expect(list.locator("li")).toHaveCount(1);
  await expect(list.locator("li")).toContainText(word);

  page.once("dialog", (dialog) => dialog.accept());
  await list.getByRole("button", { name: "Delete folder" }).click();
  await expect(list.getByLabel("Folder", { exact: true })).toHaveValue("");
  await expect(list.locator("li")).toHaveCount(2);
});
