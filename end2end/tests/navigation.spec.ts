import { expect, type Page, test } from "@playwright/test";

import { expectAccessible } from "../support/a11y";
import { ADMIN, signIn, signUp, uniqueEmail } from "../support/auth";
import { serverFn } from "../support/chat";
import { unique } from "../support/knowledge";
import { showNavigation, waitForHydration } from "../support/shell";

/** Gives the account `email` the new role `role` besides the ones it holds. */
async function grantNewRole(admin: Page, email: string, role: string) {
  const created = await serverFn(admin, "admin/roles/create", { name: role, description: "" });
  expect(created.status, created.body).toBe(200);
  const overview = JSON.parse((await serverFn(admin, "admin/roles", {})).body) as {
    roles: { id: string; name: string }[];
  };
  const found = await serverFn(admin, "admin/users", {
    search: email,
    offset: 0,
    pending_only: false,
  });
  const user = (JSON.parse(found.body) as { users: { id: string; roles: string[] }[] }).users[0];
  const roleIds = overview.roles
    .filter((r) => r.name === role || user.roles.includes(r.name))
    .map((r) => r.id);
  const set = await serverFn(admin, "admin/users/roles", { user_id: user.id, role_ids: roleIds });
  expect(set.status, set.body).toBe(200);
}

/** Fills the editor's form for a new item and saves it. */
async function addItem(
  admin: Page,
  item: { kind: string; label: string; href?: string; where?: string; role?: string },
) {
  await admin.getByRole("button", { name: "Add an item" }).click();
  await admin.getByLabel("Kind").selectOption(item.kind);
  await admin.getByLabel("Label", { exact: true }).fill(item.label);
  if (item.href) {
    await admin.getByLabel("Address").fill(item.href);
  }
  if (item.where) {
    await admin.getByLabel("Where").selectOption({ label: `In ${item.where}` });
  }
  if (item.role) {
    await admin.getByRole("checkbox", { name: item.role }).check();
  }
  await admin.getByRole("button", { name: "Save" }).click();
  await expect(admin.getByRole("status")).toHaveText(`\u201c${item.label}\u201d is saved.`);
}

test("the administrator edits the navigation, and a person of the role it names sees each change", async ({
  page,
  browser,
  isMobile,
}) => {
  test.setTimeout(150_000);
  const email = uniqueEmail("reader");
  await signUp(page, email, "Rita Reader");
  const admin = await (await browser.newContext()).newPage();
  await signIn(admin, ADMIN.email, ADMIN.name);
  // Items shown only to a role of this test's own: other tests' sidebars stay as they are.
  const u = unique();
  const role = `Readers ${u}`;
  await grantNewRole(admin, email, role);

  await admin.goto("/admin/navigation");
  await waitForHydration(admin);
  await expect(admin.getByRole("heading", { level: 1 })).toHaveText("Navigation");
  // The seed rows are the links the sidebar always had.
  const top = admin.getByRole("list", { name: "Navigation items" });
  await expect(top.getByText("Schedules", { exact: true })).toBeVisible();
  // A wrong address is refused with the reason, and nothing is saved.
  await admin.getByRole("button", { name: "Add an item" }).click();
  await admin.getByLabel("Label", { exact: true }).fill(`Bad ${u}`);
  await admin.getByLabel("Address").fill("javascript:alert(1)");
  await admin.getByRole("button", { name: "Save" }).click();
  await expect(admin.getByRole("status")).toContainText("is not an address a link can have");
  await admin.getByRole("button", { name: "Cancel" }).click();

  const section = `Reading ${u}`;
  await addItem(admin, { kind: "section", label: section, role });
  await addItem(admin, { kind: "link", label: `Library ${u}`, href: "/knowledge", where: section });
  await addItem(admin, {
    kind: "link",
    label: `Catalogue ${u}`,
    href: "/assistants",
    where: section,
  });
  await expectAccessible(admin);
  // Ordered from the keyboard: the moved item's button keeps the focus.
  const up = admin.getByRole("button", { name: `Move Catalogue ${u} up` });
  await up.focus();
  await admin.keyboard.press("Enter");
  await expect(admin.getByRole("status")).toHaveText("The order is saved.");
  await expect(admin.getByRole("list", { name: `In ${section}` }).locator("strong")).toHaveText([
    `Catalogue ${u}`,
    `Library ${u}`,
  ]);
  await expect(admin.getByRole("button", { name: `Move Catalogue ${u} up` })).toBeFocused();
  // The administrator does not hold the role: their sidebar does not show the section.
  await expect(admin.getByRole("heading", { name: section })).toHaveCount(0);

  // The reader sees the section with its links in that order, and follows one.
  await page.goto("/");
  await waitForHydration(page);
  await showNavigation(page, isMobile);
  const nav = page.getByRole("navigation", { name: "Main" });
  await expect(nav.getByRole("heading", { name: section })).toBeVisible();
  await expect(nav.getByRole("list", { name: section }).getByRole("link")).toHaveText([
    `Catalogue ${u}`,
    `Library ${u}`,
  ]);
  await nav.getByRole("link", { name: `Catalogue ${u}` }).click();
  await expect(page).toHaveURL(/\/assistants$/);

  // Hidden: gone for the reader, kept in the editor.
  await admin.getByRole("button", { name: `Hide Library ${u}` }).click();
  await expect(admin.getByRole("status")).toHaveText(`\u201c${`Library ${u}`}\u201d is hidden.`);
  await expect(admin.getByRole("button", { name: `Show Library ${u}` })).toBeVisible();

  // A landing page shows its links as tiles, searchable.
  const shelf = `Shelf ${u}`;
  await addItem(admin, { kind: "page", label: shelf, role });
  await addItem(admin, { kind: "link", label: `Novels ${u}`, href: "/chat", where: shelf });
  await page.goto("/");
  await waitForHydration(page);
  await showNavigation(page, isMobile);
  await expect(nav.getByRole("list", { name: section }).getByRole("link")).toHaveText([
    `Catalogue ${u}`,
  ]);
  await nav.getByRole("link", { name: shelf }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(shelf);
  await waitForHydration(page);
  const tile = page.getByRole("link", { name: `Novels ${u}` });
  await expect(tile).toHaveAttribute("href", "/chat");
  await expectAccessible(page);
  await page.getByRole("searchbox").fill("nothing like it");
  await expect(page.getByText("Nothing matches.")).toBeVisible();
  await expect(tile).toHaveCount(0);
  const address = page.url();

  // Removed (with what it holds): the reader's sidebar and the page are gone.
  for (const label of [section, shelf]) {
    admin.once("dialog", (dialog) => dialog.accept());
    await admin.getByRole("button", { name: `Remove ${label}` }).click();
    await expect(admin.getByRole("status")).toHaveText(`\u201c${label}\u201d is removed.`);
  }
  await expect(admin.getByText(`Novels ${u}`)).toHaveCount(0);
  const gone = await page.goto(address);
  expect(gone?.status()).toBe(404);
  await page.goto("/");
  await waitForHydration(page);
  await showNavigation(page, isMobile);
  await expect(nav.getByRole("heading", { name: section })).toHaveCount(0);
  await expect(nav.getByRole("link", { name: shelf })).toHaveCount(0);
});

test("only administrators reach the navigation editor and its server functions", async ({
  page,
}) => {
  await signUp(page, uniqueEmail("curious"), "Cody Curious");
  const opened = await page.goto("/admin/navigation");
  expect(opened?.status()).toBe(403);
  for (const [endpoint, args] of [
    ["admin/navigation/list", {}],
    ["admin/navigation/delete", { id: "00000000-0000-0000-0000-000000000000" }],
  ] as const) {
    expect((await serverFn(page, endpoint, args)).status).toBe(403);
  }
});
