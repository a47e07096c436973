import { expect, type Page, test } from "@playwright/test";

import { expectAccessible } from "../support/a11y";
import { ADMIN, mailTo, signIn, signUp, uniqueEmail } from "../support/auth";
import { FAKE_MODEL, serverFn } from "../support/chat";
import { unique } from "../support/knowledge";
import { showNavigation, waitForHydration } from "../support/shell";

/** An assistant with one field and one prompt, saved and submitted by `owner` (staff) and
 * approved for staff by an administrator; its id. */
async function approvedAssistant(owner: Page, admin: Page, name: string): Promise<string> {
  const builder = await serverFn(owner, "assistants/builder", { id: null });
  expect(builder.status).toBe(200);
  const models = JSON.parse(builder.body).models as { id: string; name: string }[];
  const model = models.find((m) => m.name === FAKE_MODEL)!;
  const saved = await serverFn(owner, "assistants/save", {
    id: null,
    definition: {
      name,
      description: "News on a topic.",
      icon: "letter",
      share_knowledge: false,
      fields: [
        {
          name: "topic",
          label: "Topic",
          help: "",
          kind: "short_text",
          required: true,
          options: [],
        },
      ],
      prompts: [
        {
          key: "digest",
          name: "Digest",
          content: "News about {{topic}}",
          system: "",
          model_id: model.id,
          repositories: [],
        },
      ],
    },
  });
  expect(saved.status, saved.body).toBe(200);
  const id = JSON.parse(saved.body).id as string;
  expect((await serverFn(owner, "assistants/submit", { id })).status).toBe(200);
  const detail = await serverFn(admin, "admin/assistants/detail", { id });
  const roles = JSON.parse(detail.body).roles as { id: string; name: string }[];
  const staff = roles.find((r) => r.name === "staff")!;
  const approved = await serverFn(admin, "admin/assistants/approve", { id, roles: [staff.id] });
  expect(approved.status, approved.body).toBe(200);
  return id;
}

test("a schedule is written with its next runs shown, runs now, rings the bell, mails its results, and is paused, edited and deleted", async ({
  page,
  browser,
  isMobile,
}) => {
  test.setTimeout(180_000);
  const email = uniqueEmail("scheduler");
  await signUp(page, email, "Sam Scheduler");
  const admin = await (await browser.newContext()).newPage();
  await signIn(admin, ADMIN.email, ADMIN.name);
  const assistant = `Digest ${unique()}`;
  const id = await approvedAssistant(page, admin, assistant);

  // From the assistant's form to a new schedule for it.
  await page.goto(`/assistants/${id}`);
  await waitForHydration(page);
  await page.getByRole("link", { name: "Schedule…" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("New schedule");
  await expect(page.getByLabel("Assistant")).toHaveValue(id);
  const name = `Monday news ${unique()}`;
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Topic").fill("comets");
  await page.getByLabel("How often").selectOption("weekly");
  await page.getByRole("checkbox", { name: "Wednesday" }).check();
  await page.getByLabel("Time", { exact: true }).fill("09:30");
  // A zone that does not exist is named; a real one shows the next five runs.
  await page.getByLabel("Time zone").fill("Mars/Olympus");
  await expect(page.getByText("“Mars/Olympus” is not a time zone")).toBeVisible();
  await page.getByLabel("Time zone").fill("Europe/London");
  await expect(page.getByText("Every Monday, Wednesday at 09:30 (Europe/London)")).toBeVisible();
  await expect(page.locator("ol.upcoming li")).toHaveCount(5);
  await expect(page.locator("ol.upcoming li").first()).toContainText(
    /(Mon|Wed) .* 09:30 (GMT|BST)/,
  );
  await expectAccessible(page);
  await page.getByRole("button", { name: "Save schedule" }).click();

  await expect(page).toHaveURL(/\/schedules$/);
  const row = page.getByRole("row").filter({ hasText: name });
  await expect(row).toContainText("Every Monday, Wednesday at 09:30 (Europe/London)");
  await expect(row).toContainText("Results mailed");
  await expectAccessible(page);

  // Run now: the run's page, then the bell rings when it ends, and the results are mailed.
  await page.getByRole("button", { name: `Run now “${name}”` }).click();
  await expect(page).toHaveURL(/\/assistants\/runs\/[0-9a-f-]+$/);
  const runUrl = page.url();
  await expect(page.locator(".run-step").first()).toHaveAttribute("data-status", "succeeded", {
    timeout: 30_000,
  });
  const bell = page.getByRole("link", { name: "Notifications: 1 unread" });
  await expect(bell).toBeVisible({ timeout: 30_000 });
  const mail = await mailTo(email, `“${name}” finished`);
  expect(mail.text).toContain("News about comets");
  expect(mail.text).toContain(new URL(runUrl).pathname);
  await bell.click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Notifications");
  await expectAccessible(page);
  await page.getByRole("link", { name: `“${name}” finished` }).click();
  await expect(page).toHaveURL(runUrl);
  await expect(page.getByRole("link", { name: "Notifications", exact: true })).toBeVisible();

  // Paused, resumed, edited, deleted, from the list (reached from the navigation).
  await showNavigation(page, isMobile);
  await page
    .getByRole("navigation", { name: "Main" })
    .getByRole("link", { name: "Schedules" })
    .click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Schedules");
  await page.getByRole("button", { name: `Pause “${name}”` }).click();
  await expect(row).toContainText("Paused");
  await page.getByRole("button", { name: `Resume “${name}”` }).click();
  await expect(row).not.toContainText("Paused");
  await page.getByRole("link", { name: `Edit “${name}”` }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Edit schedule");
  await expect(page.getByLabel("Topic")).toHaveValue("comets");
  await expect(page.getByRole("checkbox", { name: "Wednesday" })).toBeChecked();
  await page.getByLabel("Name").fill(`${name} (daily)`);
  await page.getByLabel("How often").selectOption("daily");
  await expect(page.getByText("Every day at 09:30 (Europe/London)")).toBeVisible();
  await page.getByRole("button", { name: "Save schedule" }).click();
  await expect(page).toHaveURL(/\/schedules$/);
  const edited = page.getByRole("row").filter({ hasText: `${name} (daily)` });
  await expect(edited).toContainText("Every day at 09:30");
  page.once("dialog", (dialog) => dialog.accept());
  await page.getByRole("button", { name: `Delete “${name} (daily)”` }).click();
  await expect(page.getByText("No schedule yet.")).toBeVisible();
});

test("a schedule belongs to its owner: another person neither sees, runs nor deletes it", async ({
  page,
  browser,
}) => {
  await signUp(page, uniqueEmail("owner"), "Olive Owner");
  const admin = await (await browser.newContext()).newPage();
  await signIn(admin, ADMIN.email, ADMIN.name);
  const id = await approvedAssistant(page, admin, `Private ${unique()}`);
  const saved = await serverFn(page, "schedules/save", {
    id: null,
    draft: {
      name: "Mine",
      assistant_id: id,
      inputs: { topic: "tides" },
      recurrence: { every: "daily", at: "07:00", days: [], month_day: "1", pattern: "" },
      time_zone: "UTC",
      catch_up: false,
      email: false,
    },
  });
  expect(saved.status, saved.body).toBe(200);
  const schedule = JSON.parse(saved.body) as string;

  const other = await (await browser.newContext()).newPage();
  await signUp(other, uniqueEmail("other"), "Otto Other");
  const list = await serverFn(other, "schedules/list", {});
  expect(JSON.parse(list.body)).toEqual([]);
  for (const [endpoint, args] of [
    ["schedules/run", { id: schedule }],
    ["schedules/delete", { id: schedule }],
    ["schedules/pause", { id: schedule, pause: true }],
    ["schedules/editor", { id: schedule, assistant: null }],
  ] as const) {
    const answer = await serverFn(other, endpoint, args);
    expect(answer.status, `${endpoint}: ${answer.body}`).toBe(404);
  }
  // Nor may a schedule run an assistant its owner may not run.
  const nothing = await serverFn(other, "schedules/save", {
    id: null,
    draft: {
      name: "Theirs",
      assistant_id: "00000000-0000-0000-0000-000000000000",
      inputs: {},
      recurrence: { every: "daily", at: "07:00", days: [], month_day: "1", pattern: "" },
      time_zone: "UTC",
      catch_up: false,
      email: false,
    },
  });
  expect(nothing.status).toBe(400);
  expect(nothing.body).toContain("You cannot run this assistant");
  expect((await serverFn(page, "schedules/list", {})).body).toContain("Mine");
});
