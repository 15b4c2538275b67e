/** @odoo-module **/

/**
 * Click everywhere in one app, in the manner of web's clickbot (the "click_all" test,
 * @web/webclient/clickbot/clickbot), and a bit further:
 *
 * - every menu of the app that the user sees, clicked in the navbar (dropdowns and "More");
 *   a menu opening a dialog (a wizard) is closed again;
 * - every view of the action's view switcher (list, kanban, graph, pivot, calendar...);
 * - every filter of the search view, each alone (date filters on their first option), in
 *   one view of the action (pivot, graph or list: their domain is the same in all);
 * - every group-by, each alone (date group-bys on the finest interval), without the default
 *   group-bys, in the graph and the pivot, or else in the list;
 * - from the first list or kanban: the form of a new record (discarded) and the form of the
 *   first record, where each smart button is clicked once (per model) and left again.
 *
 * Any error dialog ("Oops!", a server error) or console error fails the test; the log says
 * where. Python side: prepaid_meter/tests/test_click_everywhere.py.
 */

import { App } from "@odoo/owl";
import { browser } from "@web/core/browser/browser";
import { rpcBus } from "@web/core/network/rpc";

export const SUCCESS_SIGNAL = "clickbot test succeeded";

const MOUSE_EVENTS = ["mouseover", "mouseenter", "mousedown", "mouseup", "click"];
const TIMEOUT = 30000;

let env;
let actionCount = 0;
let pendingRPC = {};
let lastRPCError;
let where = "";
// The smart buttons already clicked ("model:button"): the same form opens from several menus.
const testedButtons = new Set();
const stats = {
    menus: 0,
    dialogs: 0,
    views: 0,
    filters: 0,
    groupBys: 0,
    forms: 0,
    newForms: 0,
    buttons: 0,
};

// === WAITING === //

function onRPCRequest({ detail }) {
    pendingRPC[detail.data.id] = detail.url;
}

function onRPCResponse({ detail }) {
    delete pendingRPC[detail.data.id];
    if (detail.error) {
        lastRPCError = detail.error;
    }
}

function onUiUpdated() {
    actionCount++;
}

function log(message) {
    browser.console.log(`[click everywhere] ${message}`);
}

function checkNoErrorDialog() {
    const dialog = document.querySelector(".o_error_dialog");
    if (dialog) {
        const rpc = lastRPCError ? `\nLast RPC error: ${JSON.stringify(lastRPCError)}` : "";
        throw new Error(`Error dialog in ${where}:\n${dialog.innerText}${rpc}`);
    }
}

function hasScheduledTask() {
    for (const app of App.apps) {
        if (app.scheduler.tasks.size) {
            return true;
        }
    }
    return false;
}

async function nextAnimationFrame() {
    await new Promise((resolve) => browser.setTimeout(resolve));
    await new Promise((resolve) => requestAnimationFrame(resolve));
}

/**
 * Wait until ``condition()`` holds, no RPC is pending and Owl has nothing left to render;
 * fail on an error dialog or after TIMEOUT.
 */
async function waitFor(condition, description) {
    const start = Date.now();
    while (true) {
        checkNoErrorDialog();
        if (condition() && !Object.keys(pendingRPC).length && !hasScheduledTask()) {
            return;
        }
        if (Date.now() - start > TIMEOUT) {
            const rpcs = Object.values(pendingRPC).join(", ");
            throw new Error(
                `Timeout in ${where} waiting for ${description}` +
                    (rpcs ? ` (pending RPC: ${rpcs})` : "")
            );
        }
        await new Promise((resolve) => browser.setTimeout(resolve, 25));
    }
}

async function click(element, description) {
    if (!element) {
        throw new Error(`In ${where}: nothing to click for ${description}`);
    }
    for (const type of MOUSE_EVENTS) {
        element.dispatchEvent(new MouseEvent(type, { bubbles: true, cancelable: true, view: window }));
    }
    await nextAnimationFrame();
}

/** Click ``element`` and wait for the action manager to show something or for a dialog. */
async function clickAndWaitAction(element, description) {
    const before = actionCount;
    await click(element, description);
    await waitFor(
        () => actionCount !== before || document.querySelector(".o_dialog:not(.o_error_dialog)"),
        `${description} to open`
    );
    return closeDialog();
}

/** Close a (non-error) dialog if one is open; return whether one was. */
async function closeDialog() {
    const dialog = document.querySelector(".o_dialog:not(.o_error_dialog)");
    if (!dialog) {
        return false;
    }
    stats.dialogs++;
    log(`dialog in ${where}: ${dialog.querySelector(".modal-title")?.innerText}`);
    await click(dialog.querySelector(".modal-header .btn-close"), "the dialog's close button");
    await waitFor(() => !document.querySelector(".o_dialog"), "the dialog to close");
    return true;
}

async function goBack(description) {
    const back = document.querySelector(".o_breadcrumb .o_back_button");
    const before = actionCount;
    await click(back, `the breadcrumb back to ${description}`);
    await waitFor(() => actionCount !== before, `back to ${description}`);
}

// === MENUS === //

function menuPath(menuService, menu) {
    const path = [menu];
    while (path[0].appID !== path[0].id) {
        const parent = menuService
            .getAll()
            .find((candidate) => candidate.children.includes(path[0].id));
        path.unshift(parent);
    }
    return path;
}

function leafMenus(menuService, menu) {
    const children = menu.children.map((id) => menuService.getMenu(id));
    if (!children.length) {
        return menu.actionID ? [menu] : [];
    }
    return children.flatMap((child) => leafMenus(menuService, child));
}

async function openApp(app) {
    const toggler = document.querySelector(".o_navbar_apps_menu .dropdown-toggle, .o_navbar_apps_menu button");
    await click(toggler, "the apps menu");
    await waitFor(() => document.querySelector(`.o_app[data-menu-xmlid="${app.xmlid}"]`), "the apps");
    await clickAndWaitAction(
        document.querySelector(`.o_app[data-menu-xmlid="${app.xmlid}"]`),
        `app ${app.name}`
    );
}

/** Click ``menu`` in the navbar: its section, or the section's dropdown, or "More". */
async function openMenu(menuService, menu) {
    const [, section] = menuPath(menuService, menu);
    const sections = document.querySelector(".o_menu_sections");
    const direct = sections.querySelector(`:scope > [data-menu-xmlid="${menu.xmlid}"]`);
    if (direct) {
        return clickAndWaitAction(direct, `menu ${menu.name}`);
    }
    const toggler =
        sections.querySelector(`button[data-menu-xmlid="${section.xmlid}"]`) ||
        sections.querySelector(".o_menu_sections_more button");
    await click(toggler, `menu section ${section.name}`);
    const item = `.o-dropdown--menu [data-menu-xmlid="${menu.xmlid}"]`;
    await waitFor(() => document.querySelector(item), `menu ${menu.name} in its dropdown`);
    return clickAndWaitAction(document.querySelector(item), `menu ${menu.name}`);
}

// === SEARCH === //

async function openSearchMenu() {
    if (!document.querySelector(".o_search_bar_menu")) {
        const toggler = document.querySelector(".o_control_panel .o_searchview_dropdown_toggler");
        if (!toggler) {
            return false;
        }
        await click(toggler, "the search menu");
        await waitFor(() => document.querySelector(".o_search_bar_menu"), "the search menu");
    }
    return true;
}

function searchItems(menuClass) {
    return [
        ...document.querySelectorAll(
            `.o_search_bar_menu .${menuClass} > .o_menu_item:not(.o_add_custom_filter),` +
                `.o_search_bar_menu .${menuClass} > .o_accordion`
        ),
    ];
}

/** The option elements of the accordion ``index`` of ``menuClass`` (opened if need be). */
async function accordionOptions(menuClass, index) {
    const accordion = searchItems(menuClass)[index];
    if (!accordion.querySelector(".o_accordion_values")) {
        await click(accordion.querySelector(".o_accordion_toggle"), "a search accordion");
        await waitFor(() => accordion.querySelector(".o_accordion_values"), "its options");
    }
    return [...accordion.querySelectorAll(".o_accordion_values .o_item_option")];
}

/** Click an item of the search menu, or an option of it. */
async function toggleSearchItem(menuClass, [index, optionIndex], description) {
    if (!(await openSearchMenu())) {
        throw new Error(`In ${where}: the search menu went away`);
    }
    let element = searchItems(menuClass)[index];
    if (optionIndex !== null) {
        element = (await accordionOptions(menuClass, index))[optionIndex];
    }
    await click(element, description);
}

/**
 * Each item of the filter or group-by menu alone (the previous one is switched off as the
 * next one is switched on); accordions (date filters, date group-bys) on one option: the
 * first for filters, the last (the finest interval) for group-bys.
 */
async function testSearchItems(menuClass) {
    if (!(await openSearchMenu()) || !document.querySelector(`.o_search_bar_menu .${menuClass}`)) {
        return 0;
    }
    const toggles = [];
    const count = searchItems(menuClass).length;
    for (let index = 0; index < count; index++) {
        const item = searchItems(menuClass)[index];
        const name = item.innerText.trim().split("\n")[0];
        if (item.classList.contains("o_accordion")) {
            const options = await accordionOptions(menuClass, index);
            const optionIndex = menuClass === "o_filter_menu" ? 0 : options.length - 1;
            const option = options[optionIndex].innerText.trim();
            toggles.push([[index, optionIndex], `${name} > ${option}`]);
        } else {
            toggles.push([[index, null], name]);
        }
    }
    let previous;
    for (const [position, name] of toggles) {
        if (previous) {
            await toggleSearchItem(menuClass, previous, "off");
        }
        await toggleSearchItem(menuClass, position, name);
        await waitFor(() => true, name);
        previous = position;
    }
    if (previous) {
        await toggleSearchItem(menuClass, previous, "off");
        await waitFor(() => true, "the last item off");
    }
    return toggles.length;
}

/** Remove the group-bys of the search (e.g. a default one) so that each is tried alone. */
async function removeGroupBys() {
    const facets = () =>
        [...document.querySelectorAll(".o_searchview_facet")].filter((facet) =>
            facet.querySelector(".o_searchview_facet_label .oi-group")
        );
    for (let count = facets().length; count; count = facets().length) {
        await click(facets()[0].querySelector(".o_facet_remove"), "remove the group-by");
        await waitFor(() => facets().length < count, "the group-by to go");
    }
}

async function closeSearchMenu() {
    if (document.querySelector(".o_search_bar_menu")) {
        await click(
            document.querySelector(".o_control_panel .o_searchview_dropdown_toggler"),
            "the search menu"
        );
        await waitFor(() => !document.querySelector(".o_search_bar_menu"), "the search menu");
    }
}

// === VIEWS === //

function currentViewType() {
    const controller = document.querySelector(".o_action_manager .o_view_controller");
    const match = controller && [...controller.classList].find((cls) => /^o_\w+_view$/.test(cls));
    return match && match.slice(2, -5);
}

/** In a form: click each smart button, then come back to the form. */
async function testSmartButtons() {
    const buttonsSelector = ".o-form-buttonbox button.oe_stat_button:not([disabled])";
    const moreSelector = ".o_form_view .o-form-buttonbox .o_button_more";
    const visibleCount = () =>
        document.querySelectorAll(`.o_form_view ${buttonsSelector}`).length;
    let hiddenCount = 0;
    if (document.querySelector(moreSelector)) {
        await click(document.querySelector(moreSelector), "more smart buttons");
        await waitFor(() => document.querySelector(".o_dropdown_more"), "more smart buttons");
        hiddenCount = document.querySelectorAll(`.o_dropdown_more ${buttonsSelector}`).length;
    }
    const shown = visibleCount();
    for (let index = 0; index < shown + hiddenCount; index++) {
        let button;
        if (index < shown) {
            button = document.querySelectorAll(`.o_form_view ${buttonsSelector}`)[index];
        } else {
            if (!document.querySelector(".o_dropdown_more")) {
                await click(document.querySelector(moreSelector), "more smart buttons");
                await waitFor(() => document.querySelector(".o_dropdown_more"), "more buttons");
            }
            button = document.querySelectorAll(`.o_dropdown_more ${buttonsSelector}`)[
                index - shown
            ];
        }
        const key = `${env.services.action.currentController.props.resModel}:${button.getAttribute("name")}`;
        if (testedButtons.has(key)) {
            continue;
        }
        testedButtons.add(key);
        const name = `smart button ${button.getAttribute("name")} (${button.innerText.trim()})`;
        const saved = where;
        where = `${saved} > ${name}`;
        log(`testing ${where}`);
        const wasDialog = await clickAndWaitAction(button, name);
        stats.buttons++;
        if (!wasDialog) {
            await goBack("the form");
            await waitFor(() => document.querySelector(".o_form_view"), "the form");
        }
        where = saved;
    }
}

/** From a list or a kanban: the form of a new record (discarded), then of the first one. */
async function testForms(viewType) {
    const views = env.services.action.currentController?.action.views || [];
    if (!views.some(([, type]) => type === "form")) {
        return;
    }
    const saved = where;
    const newButton = document.querySelector(
        ".o_control_panel_main_buttons .o_list_button_add, " +
            ".o_control_panel_main_buttons .o-kanban-button-new"
    );
    if (newButton && viewType === "list") {
        where = `${saved} > new record`;
        await click(newButton, "New");
        await waitFor(
            () => document.querySelector(".o_form_view .o_form_editable, .o_selected_row"),
            "a new record"
        );
        stats.newForms++;
        if (document.querySelector(".o_form_view")) {
            const discard = document.querySelector(".o_form_view .o_form_button_cancel");
            if (discard) {
                const before = actionCount;
                await click(discard, "Discard");
                await waitFor(() => actionCount !== before, "the list");
            } else {
                log(`no Discard in ${document.querySelector(".o_form_view").className}`);
                await goBack(viewType);
            }
        } else {
            await click(document.querySelector(".o_list_button_discard"), "Discard");
            await waitFor(() => !document.querySelector(".o_selected_row"), "the list");
        }
    }
    where = `${saved} > first record`;
    const record =
        viewType === "list"
            ? document.querySelector(".o_list_view .o_data_row td.o_data_cell")
            : document.querySelector(".o_kanban_view .o_kanban_record:not(.o_kanban_ghost)");
    if (!record) {
        where = saved;
        return;
    }
    const before = actionCount;
    await click(record, "the first record");
    await waitFor(
        () =>
            actionCount !== before ||
            document.querySelector(".o_selected_row, .o_dialog:not(.o_error_dialog)"),
        "the first record to open"
    );
    if (document.querySelector(".o_selected_row")) {
        // An editable list: no form to open.
        await click(document.querySelector(".o_list_button_discard"), "Discard");
        await waitFor(() => !document.querySelector(".o_selected_row"), "the list");
    } else if (!(await closeDialog())) {
        if (currentViewType() === "form") {
            stats.forms++;
            log(`testing ${where}`);
            await testSmartButtons();
        }
        await goBack(viewType);
    }
    where = saved;
}

async function testView(viewType, { withFilters, withGroupBys, withForms }) {
    const saved = where;
    where = `${saved} (${viewType})`;
    log(`testing ${where}`);
    stats.views++;
    if (withFilters) {
        stats.filters += await testSearchItems("o_filter_menu");
    }
    if (withGroupBys) {
        await closeSearchMenu();
        await removeGroupBys();
        stats.groupBys += await testSearchItems("o_group_by_menu");
    }
    await closeSearchMenu();
    if (withForms) {
        await testForms(viewType);
    }
    where = saved;
}

async function testAction() {
    const first = currentViewType();
    if (!first) {
        return; // a client action: it opened, that is all there is to click
    }
    const switchable = [...document.querySelectorAll("nav.o_cp_switch_buttons .o_switch_view")]
        .map((button) => [...button.classList].find((cls) => /^o_(?!switch_view)/.test(cls)))
        .map((cls) => cls.slice(2))
        .filter((viewType) => viewType !== first);
    // The filters where they are the cheapest to reload (their domain is the same in all).
    const all = [first, ...switchable];
    const filterView = ["pivot", "graph", "list"].find((type) => all.includes(type)) || first;
    // The group-bys in the views made for them, else in the list. Kanban views are grouped as
    // their action says: their columns are slow to load one by one.
    const groupByViews = all.filter((type) => ["graph", "pivot"].includes(type));
    if (!groupByViews.length && all.includes("list")) {
        groupByViews.push("list");
    }
    // The forms from the first list or kanban.
    const formView = all.find((type) => ["list", "kanban"].includes(type));
    const options = (type) => ({
        withFilters: type === filterView,
        withGroupBys: groupByViews.includes(type),
        withForms: type === formView,
    });
    await testView(first, options(first));
    for (const viewType of switchable) {
        const selector = `nav.o_cp_switch_buttons .o_switch_view.o_${viewType}`;
        // After the debounce of the switcher.
        await new Promise((resolve) => browser.setTimeout(resolve, 250));
        await click(document.querySelector(selector), `the ${viewType} view`);
        await waitFor(
            () => document.querySelector(`${selector}.active`) && currentViewType() === viewType,
            `the ${viewType} view`
        );
        await testView(viewType, options(viewType));
    }
}

// === MAIN === //

/**
 * Click everywhere in the app whose root menu is ``appXmlid``; log SUCCESS_SIGNAL when done,
 * an error otherwise.
 */
export async function clickEverywhere(appXmlid) {
    env = odoo.__WOWL_DEBUG__.root.env;
    env.bus.addEventListener("ACTION_MANAGER:UI-UPDATED", onUiUpdated);
    rpcBus.addEventListener("RPC:REQUEST", onRPCRequest);
    rpcBus.addEventListener("RPC:RESPONSE", onRPCResponse);
    const start = performance.now();
    try {
        const menuService = env.services.menu;
        const app = menuService.getApps().find((menu) => menu.xmlid === appXmlid);
        if (!app) {
            throw new Error(`No app ${appXmlid} for this user`);
        }
        where = `app ${app.name}`;
        await openApp(app);
        const menus = leafMenus(menuService, app);
        for (const menu of menus) {
            where = `menu ${menuPath(menuService, menu).map((m) => m.name).join(" > ")}`;
            log(`testing ${where} (${menu.xmlid})`);
            stats.menus++;
            if (!(await openMenu(menuService, menu))) {
                await testAction();
            }
        }
        where = "the end";
        await waitFor(() => true, "the last clicks to settle");
        log(`tested ${JSON.stringify(stats)} in ${Math.round(performance.now() - start)} ms`);
        browser.console.log(SUCCESS_SIGNAL);
    } catch (error) {
        browser.console.error(`[click everywhere] ${error.message}\n${error.stack}`);
    } finally {
        env.bus.removeEventListener("ACTION_MANAGER:UI-UPDATED", onUiUpdated);
        rpcBus.removeEventListener("RPC:REQUEST", onRPCRequest);
        rpcBus.removeEventListener("RPC:RESPONSE", onRPCResponse);
    }
}
