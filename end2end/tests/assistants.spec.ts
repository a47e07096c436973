import { expect, type Page, test } from "@playwright/test";

import { expectAccessible } from "../support/a11y";
import { ADMIN, signIn, signUp, uniqueEmail } from "../support/auth";
import { FAKE_MODEL, serverFn } from "../support/chat";
import { unique } from "../support/knowledge";
import { showNavigation, waitForHydration } from "../support/shell";

/** Adds a prompt in the builder's prompts step and fills it in. */
async function addPrompt(page: Page, n: number, name: string, key: string, content: string) {
  await page.getByRole("button", { name: "Add a prompt" }).click();
  const entry = page.locator(".edit-entry").nth(n);
  await entry.getByLabel("Name", { exact: true }).fill(name);
  await entry.getByLabel("Key (its output in later prompts)").fill(key);
  await entry.getByLabel("Model").selectOption({ label: FAKE_MODEL });
  await entry.getByLabel("Prompt", { exact: true }).fill(content);
}

test("staff build an assistant with a file field and three prompts, an administrator approves it, a colleague runs it", async ({
  page,
  browser,
  isMobile,
}) => {
  test.setTimeout(180_000);
  const u = unique();
  const name = `Rubric maker ${u}`;
  const category = `Assessment ${u}`;

  // The builder, step by step, as a member of staff.
  await signUp(page, uniqueEmail("architect"), "Ada Architect");
  await page.goto("/assistants");
  await waitForHydration(page);
  await page.getByRole("link", { name: "New assistant" }).click();
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("Description").fill("A rubric from a standard and notes.");
  await page.getByLabel("Category (optional)").fill(category);
  await page.getByRole("button", { name: "2. Input fields" }).click();
  await page.getByRole("button", { name: "Add a field" }).click();
  await page.getByRole("button", { name: "Add a field" }).click();
  const fields = page.locator(".edit-entry");
  await fields.nth(0).getByLabel("Label").fill("Standard");
  await fields.nth(0).getByLabel("Name in prompts").fill("standard");
  await fields.nth(1).getByLabel("Label").fill("Notes");
  await fields.nth(1).getByLabel("Name in prompts").fill("notes");
  await fields.nth(1).getByLabel("Kind").selectOption("file");
  await fields.nth(1).getByLabel("Required").uncheck();
  // Ordered with the keyboard: the moved field's button keeps the focus.
  await page.getByRole("button", { name: "Move field “Notes” up" }).focus();
  await page.keyboard.press("Enter");
  await expect(fields.nth(0).getByLabel("Label")).toHaveValue("Notes");
  await expect(page.getByRole("button", { name: "Move field “Notes” up" })).toBeFocused();
  await page.keyboard.press("Tab");
  await page.keyboard.press("Enter");
  await expect(fields.nth(0).getByLabel("Label")).toHaveValue("Standard");
  await expectAccessible(page);

  await page.getByRole("button", { name: "3. Prompts" }).click();
  await addPrompt(page, 0, "Levels", "levels", "{{standard}}");
  await addPrompt(page, 1, "Criteria", "criteria", "Criteria from {{notes}}");
  await addPrompt(page, 2, "Rubric", "rubric", "Join {{levels}} and {{criteria}}");
  // A reference to nothing is refused, naming it.
  await page
    .locator(".edit-entry")
    .nth(2)
    .getByLabel("Prompt", { exact: true })
    .fill("Join {{levls}}");
  await page.getByRole("button", { name: "Save draft" }).click();
  await expect(page.getByRole("status").filter({ hasText: "{{levls}}" })).toBeVisible();
  await page
    .locator(".edit-entry")
    .nth(2)
    .getByLabel("Prompt", { exact: true })
    .fill("Join {{levels}} and {{criteria}}");
  await page.getByRole("button", { name: "Save draft" }).click();
  await expect(page.getByText("Saved as a draft.")).toBeVisible();
  await expect(page).toHaveURL(/\/assistants\/[0-9a-f-]+\/edit$/);

  // The graph: two prompts run together, the third joins them.
  await page.getByRole("button", { name: "4. Preview" }).click();
  await expect(page.getByText("Step 1: Levels, Criteria.")).toBeVisible();
  await expect(
    page.getByText("Step 2: Rubric (Rubric waits for Levels and Criteria)."),
  ).toBeVisible();
  // A test run of the saved draft, before anyone reviews it.
  const builder = page.url();
  await page.getByRole("link", { name: "Test the saved version" }).click();
  await expect(page.getByText("A test run of your latest saved version")).toBeVisible();
  await page.getByLabel("Standard").fill("fractions");
  await page.getByRole("button", { name: "Run" }).click();
  await expect(page.locator(".run-step").nth(2)).toHaveAttribute("data-status", "succeeded", {
    timeout: 30_000,
  });
  await page.goto(builder);
  await waitForHydration(page);
  await page.getByRole("button", { name: "5. Submit" }).click();
  await page.getByRole("button", { name: "Save and submit" }).click();
  await expect(page.getByText("Submitted: an administrator reviews it next.")).toBeVisible();

  // The administrator approves it for staff and students, and links it from a section of the
  // sidebar.
  const admin = await (await browser.newContext()).newPage();
  await signIn(admin, ADMIN.email, ADMIN.name);
  const section = `Marking ${u}`;
  const made = await serverFn(admin, "admin/navigation/save", {
    id: null,
    item: {
      parent_id: "",
      kind: "section",
      label: section,
      icon: "checklist",
      href: "",
      description: "",
      tool: "",
      roles: [],
      hidden: false,
    },
  });
  expect(made.status).toBe(200);
  await admin.goto("/admin/assistants");
  await waitForHydration(admin);
  await admin.getByRole("button", { name: `Review ${name}` }).click();
  const review = admin.locator("section.review");
  await expect(review.getByText("Join {{levels}} and {{criteria}}")).toBeVisible();
  await review.getByLabel("staff").check();
  await review.getByLabel("student").check();
  await expect(review.getByText(`Category: ${category}`)).toBeVisible();
  await review.getByRole("button", { name: "Approve for these roles" }).click();
  await expect(review.getByText("Approved.")).toBeVisible();
  await expect(review.getByText("Only the catalog lists it so far.")).toBeVisible();
  await review.getByLabel("Add a link in").selectOption({ label: `Section ${section}` });
  await review.getByRole("button", { name: "Add the link" }).click();
  await expect(review.getByText(`Linked from: Section ${section}.`)).toBeVisible();
  await expectAccessible(admin);

  // A colleague finds it, fills the form (a file for the notes) and follows the run.
  const runner = await (await browser.newContext()).newPage();
  await signUp(runner, uniqueEmail("colleague"), "Cole League");
  await runner.goto("/assistants");
  await waitForHydration(runner);
  // The catalog filters by category: this one alone in its own.
  await runner.getByLabel("Category", { exact: true }).selectOption(category);
  await expect(runner.locator(".tile")).toHaveCount(1);
  await expect(runner.locator(".tile")).toContainText(name);
  await runner.getByLabel("Category", { exact: true }).selectOption("");
  await runner.getByLabel("Search assistants").fill(name);
  await expect(runner.locator(".tile").getByRole("link", { name })).toBeVisible();
  // It is run from the sidebar's section.
  await showNavigation(runner, isMobile);
  const nav = runner.getByRole("navigation", { name: "Main" });
  await nav.getByRole("list", { name: section }).getByRole("link", { name }).click();
  await runner.getByLabel("Standard").fill("slow fractions");
  await runner.getByLabel("Notes (optional)").setInputFiles({
    name: "notes.txt",
    mimeType: "text/plain",
    buffer: Buffer.from("Pupils compare halves and quarters."),
  });
  await expect(runner.getByText("Read.")).toBeVisible();
  await runner.getByRole("button", { name: "Run" }).click();
  await expect(runner).toHaveURL(/\/assistants\/runs\/[0-9a-f-]+$/);
  const steps = runner.locator(".run-step");
  await expect(steps).toHaveCount(3);
  await expect(steps.nth(1)).toContainText("Criteria from Pupils compare halves and quarters.");
  // The slow step is still writing: a reload picks the run up where it is.
  await expect(steps.nth(0)).toHaveAttribute("data-status", "running");
  await runner.reload();
  await waitForHydration(runner);
  await expect(steps.nth(0)).toContainText("The end.", { timeout: 30_000 });
  await expect(steps.nth(2)).toHaveAttribute("data-status", "succeeded", { timeout: 30_000 });
  await expect(runner.getByRole("status").filter({ hasText: "Done" })).toBeVisible();
  await expectAccessible(runner);

  const [download] = await Promise.all([
    runner.waitForEvent("download"),
    runner.getByRole("link", { name: "Download Markdown" }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/^rubric-maker-.*\.md$/);
  const text = await (await download.createReadStream()).toArray();
  const markdown = Buffer.concat(text).toString("utf8");
  expect(markdown).toContain(`# ${name}`);
  expect(markdown).toContain("## Criteria");
  expect(markdown).toContain("- **standard**: slow fractions");

  // Run again keeps the inputs; continue in chat opens a conversation with the results.
  await runner.getByRole("link", { name: "Run again" }).click();
  await expect(runner.getByLabel("Standard")).toHaveValue("slow fractions");
  await runner.goBack();
  await waitForHydration(runner);
  await runner.getByRole("button", { name: "Continue in chat" }).click();
  await expect(runner).toHaveURL(/\/chat\/[0-9a-f-]+$/);
  await expect(runner.getByText(`Results of the assistant “${name}”.`)).toBeVisible();
});

test("only administrators review and import, and nobody runs an assistant not granted to them", async ({
  page,
}) => {
  await signUp(page, uniqueEmail("nosy"), "Nora Nosy");
  // A member of staff builds but does not review: the review queue and the import refuse.
  const queue = await serverFn(page, "admin/assistants", { status: "pending" });
  expect(queue.status).toBe(403);
  const imported = await page.evaluate(async () => {
    const response = await fetch("/api/admin/assistants/import", { method: "POST", body: "{}" });
    return response.status;
  });
  expect(imported).toBe(403);
  // An assistant nobody granted them (or none at all) is not there to run.
  const form = await serverFn(page, "assistants/form", {
    id: "00000000-0000-0000-0000-000000000000",
    again: null,
    draft: false,
  });
  expect(form.status).toBe(404);
  const run = await page.request.get("/api/assistants/runs/not-an-id/markdown");
  expect(run.status()).toBe(404);
});
