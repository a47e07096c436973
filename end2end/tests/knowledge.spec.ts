import { expect, test } from "@playwright/test";

import { expectAccessible } from "../support/a11y";
import { ADMIN, signIn } from "../support/auth";
import { FAKE_MODEL, newChat, replies, send } from "../support/chat";
import { docx, pdf } from "../support/documents";
import { addTexts, itemRow, newRepository, search, unique } from "../support/knowledge";
import { waitForHydration } from "../support/shell";

test("a PDF and a Word document are uploaded, processed live, and found by search", async ({
  page,
}) => {
  test.setTimeout(120_000);
  await signIn(page, ADMIN.email, ADMIN.name);
  const name = `Biology ${unique()}`;
  await newRepository(page, name);

  const pdfName = `photosynthesis-${unique()}.pdf`;
  const docxName = `volcanoes-${unique()}.docx`;
  await page.locator("#knowledge-files").setInputFiles([
    {
      name: pdfName,
      mimeType: "application/pdf",
      buffer: pdf([
        ["Plants make their food by photosynthesis.", "Chlorophyll absorbs sunlight."],
        ["Oxygen is released through the stomata of the leaves."],
      ]),
    },
    {
      name: docxName,
      mimeType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
      buffer: docx("Volcanoes", [
        "Magma rises through the crust and erupts as lava.",
        "Pumice is a rock so light that it floats on water.",
      ]),
    },
  ]);
  const uploads = page.getByRole("list", { name: "Uploads" });
  await expect(uploads.getByText("Uploaded")).toHaveCount(2);

  // The rows follow the pipeline without a reload, to ready.
  for (const file of [pdfName, docxName]) {
    await expect(itemRow(page, file)).toContainText(/Ready · \d+ chunks?/, { timeout: 90_000 });
  }
  await expect(itemRow(page, pdfName)).toContainText("pdf");
  await expect(itemRow(page, docxName)).toContainText("docx");
  await expectAccessible(page);

  // A sentence from each, by words and by meaning.
  let hits = await search(page, "pumice floats", "By words");
  await expect(hits.first()).toContainText(docxName);
  await expect(hits.first()).toContainText("Pumice is a rock so light");
  await expect(hits.first()).toContainText("contains floats, pumice");
  hits = await search(page, "how do leaves turn light into food", "By meaning");
  await expect(hits.first()).toContainText(pdfName);
  await expect(hits.first()).toContainText(/meaning \d+%/);
  hits = await search(page, "stomata oxygen", "Both");
  await expect(hits.first()).toContainText("Oxygen is released through the stomata");
  await expect(hits.first()).toContainText(/meaning \d+% · words 100%/);

  // The chunks of a document, with where they came from.
  await itemRow(page, docxName)
    .getByRole("button", { name: /Chunks/ })
    .click();
  const chunks = page.getByRole("region", { name: `Chunks of ${docxName}` });
  await expect(chunks).toContainText("Magma rises through the crust");
  await expect(chunks).toContainText("Volcanoes");
  await expectAccessible(page);

  // After a reload the items are still there, ready.
  await page.reload();
  await waitForHydration(page);
  await expect(itemRow(page, pdfName)).toContainText("Ready");
});

test("a renamed binary and an oversize file are refused with a reason", async ({ page }) => {
  await signIn(page, ADMIN.email, ADMIN.name);
  await newRepository(page, `Refusals ${unique()}`);
  await page.locator("#knowledge-files").setInputFiles([
    {
      name: "homework.pdf",
      mimeType: "application/pdf",
      buffer: Buffer.concat([
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
        Buffer.alloc(64),
      ]),
    },
    { name: "huge.txt", mimeType: "text/plain", buffer: Buffer.alloc(6_000_000, "a") },
  ]);
  const uploads = page.getByRole("list", { name: "Uploads" });
  await expect(
    uploads.getByRole("alert").filter({ hasText: "homework.pdf is in fact a .png file" }),
  ).toBeVisible();
  await expect(
    uploads.getByRole("alert").filter({ hasText: "huge.txt is larger than the 5.0 MB allowed." }),
  ).toBeVisible();
  await expect(page.getByText("Nothing here yet.")).toBeVisible();
  await expectAccessible(page);
});

test("pasted text becomes a searchable item; removing it takes it out of search", async ({
  page,
}) => {
  test.setTimeout(90_000);
  await signIn(page, ADMIN.email, ADMIN.name);
  await newRepository(page, `Notes ${unique()}`);
  const word = `zebrafish${unique()}`;
  await addTexts(page, [["Lab notes", `The ${word} regrows its fins in a week.`]]);
  await expect(itemRow(page, "Lab notes")).toContainText("Ready · 1 chunk");
  const hits = await search(page, word, "By words");
  await expect(hits).toHaveCount(1);

  page.once("dialog", (dialog) => dialog.accept());
  await itemRow(page, "Lab notes").getByRole("button", { name: "Remove Lab notes" }).click();
  await expect(page.getByText("Nothing here yet.")).toBeVisible();
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await expect(page.getByText("Nothing matched.")).toBeVisible();
});

test("a web page is fetched and searchable; private addresses are refused", async ({ page }) => {
  test.setTimeout(90_000);
  const site = `http://127.0.0.1:${Number(process.env.E2E_PORT ?? 3100) + 3}`;
  await signIn(page, ADMIN.email, ADMIN.name);
  await newRepository(page, `Web ${unique()}`);
  await page.getByText("Add a web page").click();
  const address = page.getByLabel("Address", { exact: true });

  // Refused at once: the metadata service, in decimal notation.
  await address.fill("http://2852039166/latest/meta-data/");
  await page.getByRole("button", { name: "Add page" }).click();
  await expect(page.getByRole("status")).toHaveText(/private network/);

  await address.fill(`${site}/tides.html`);
  await page.getByRole("button", { name: "Add page" }).click();
  const row = page.getByRole("row").filter({ hasText: "tides.html" });
  await expect(row).toContainText("Ready · 1 chunk", { timeout: 60_000 });
  await expect(row).toContainText("html");
  const hits = await search(page, "why are there two high tides", "By meaning");
  await expect(hits.first()).toContainText("The moon pulls the oceans");

  // A public page that redirects into the private network fails with the reason.
  await address.fill(`${site}/metadata`);
  await page.getByRole("button", { name: "Add page" }).click();
  const redirected = page.getByRole("row").filter({ hasText: "/metadata" });
  await expect(redirected).toContainText("Failed", { timeout: 30_000 });
  await expect(redirected).toContainText("private network");
  await expectAccessible(page);
});

test("a chat answering from a repository cites the chunk it was given", async ({ page }) => {
  test.setTimeout(90_000);
  await signIn(page, ADMIN.email, ADMIN.name);
  const repository = `Geology ${unique()}`;
  await newRepository(page, repository);
  await addTexts(page, [
    ["Rock notes", "Pumice is a volcanic rock so light that it floats on water."],
  ]);

  await newChat(page, FAKE_MODEL);
  await page.locator("summary", { hasText: "Knowledge" }).click();
  await page.getByLabel(repository).check();
  await expect(page.getByText("Knowledge (1)")).toBeVisible();
  await send(page, "Which rock floats on water? [1]");
  const reply = replies(page).last();
  await expect(reply.locator(".markdown")).toContainText("Which rock floats on water?");
  const sources = reply.getByRole("region", { name: "Sources" });
  await expect(sources).toContainText("[1] Rock notes");
  // The marker in the answer leads to its source.
  const marker = reply.locator(".markdown a.cite");
  await expect(marker).toHaveText("[1]");
  await marker.click();
  await expect(page).toHaveURL(/#source-[0-9a-f-]{36}-1$/);
  await expect(sources.locator("li").first()).toBeInViewport();
  await sources.getByText("[1] Rock notes").click();
  await expect(sources).toContainText("Pumice is a volcanic rock");
  await expect(sources.getByRole("link", { name: "Open the repository" })).toBeVisible();
  await expectAccessible(page);

  // After a reload: the citation stays, and the conversation still answers from the repository.
  await page.reload();
  await waitForHydration(page);
  await expect(replies(page).last().getByRole("region", { name: "Sources" })).toContainText(
    "[1] Rock notes",
  );
  await expect(page.getByText("Knowledge (1)")).toBeVisible();
});

test("an administrator sees a dead ingest job with its reason, retries and discards it", async ({
  page,
}) => {
  test.setTimeout(90_000);
  await signIn(page, ADMIN.email, ADMIN.name);
  await newRepository(page, `Scans ${unique()}`);
  const scan = `scan-${unique()}.pdf`;
  // Pages without a text layer: a scan, which needs OCR.
  await page
    .locator("#knowledge-files")
    .setInputFiles([{ name: scan, mimeType: "application/pdf", buffer: pdf([[], []]) }]);
  await expect(itemRow(page, scan)).toContainText("needs OCR", { timeout: 60_000 });
  const repositoryPage = page.url();

  // The job names the file it reads: the other browser's test has scans of its own.
  const deadJob = () => page.getByRole("row").filter({ hasText: scan });
  await page.goto("/admin/jobs");
  await waitForHydration(page);
  await page.getByLabel("Show").selectOption("dead");
  const job = deadJob();
  await expect(job).toContainText("needs OCR");
  await expect(job).toContainText("knowledge-ingest");
  await expect(job).toContainText("1 of 5");
  await expectAccessible(page);
  await job.getByRole("button", { name: "Retry knowledge-ingest" }).click();
  await expect(page.getByRole("status")).toHaveText("Queued again.");

  // It fails again, for the same reason, and is discarded for good.
  await page.goto(repositoryPage);
  await waitForHydration(page);
  await expect(itemRow(page, scan)).toContainText("needs OCR", { timeout: 60_000 });
  await page.goto("/admin/jobs");
  await waitForHydration(page);
  await page.getByLabel("Show").selectOption("dead");
  await expect(deadJob()).toContainText("needs OCR");
  page.once("dialog", (dialog) => dialog.accept());
  await deadJob().getByRole("button", { name: "Discard knowledge-ingest" }).click();
  await expect(page.getByRole("status")).toHaveText("Discarded.");
  await expect(deadJob()).toHaveCount(0);
  // The item keeps the reason it failed for.
  await page.goto(repositoryPage);
  await waitForHydration(page);
  await expect(itemRow(page, scan)).toContainText("needs OCR");
});

test("a job's buttons act on the job in their row after the list changes order", async ({
  page,
}) => {
  test.setTimeout(90_000);
  await signIn(page, ADMIN.email, ADMIN.name);
  await newRepository(page, `Reorder ${unique()}`);
  const [first, second] = [`scan-${unique()}.pdf`, `scan-${unique()}.pdf`];
  for (const name of [first, second]) {
    await page
      .locator("#knowledge-files")
      .setInputFiles([{ name, mimeType: "application/pdf", buffer: pdf([[]]) }]);
    await expect(itemRow(page, name)).toContainText("needs OCR", { timeout: 60_000 });
  }
  const jobRow = (on: typeof page, name: string) => on.getByRole("row").filter({ hasText: name });
  await page.goto("/admin/jobs");
  await waitForHydration(page);
  await page.getByLabel("Show").selectOption("dead");
  await expect(jobRow(page, first)).toContainText("dead");
  await expect(jobRow(page, second)).toContainText("dead");

  // Elsewhere, the older job is retried and dies again: it is the newest dead job now.
  const other = await page.context().newPage();
  await other.goto("/admin/jobs");
  await waitForHydration(other);
  await other.getByLabel("Show").selectOption("dead");
  await jobRow(other, first).getByRole("button", { name: "Retry knowledge-ingest" }).click();
  await expect(other.getByRole("status")).toHaveText("Queued again.");
  await expect
    .poll(
      async () => {
        await other.getByRole("button", { name: "Refresh" }).click();
        return (await jobRow(other, first).textContent()) ?? "";
      },
      { timeout: 30_000 },
    )
    .toContain("dead");
  await other.close();

  // Here the list is refreshed into its new order; Discard in a row discards that row's job.
  await page.getByRole("button", { name: "Refresh" }).click();
  page.once("dialog", (dialog) => dialog.accept());
  await jobRow(page, first).getByRole("button", { name: "Discard knowledge-ingest" }).click();
  await expect(page.getByRole("status")).toHaveText("Discarded.");
  await expect(jobRow(page, first)).toHaveCount(0);
  await expect(jobRow(page, second)).toContainText("dead");
  page.once("dialog", (dialog) => dialog.accept());
  await jobRow(page, second).getByRole("button", { name: "Discard knowledge-ingest" }).click();
  await expect(jobRow(page, second)).toHaveCount(0);
});
