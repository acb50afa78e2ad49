-- Why a change was made, when its command says (a switch's operation,
-- DESIGN §9): kept with the change in its history and carried by its event.
ALTER TABLE changes ADD COLUMN reason text;
