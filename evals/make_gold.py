"""Writes evals/dev.jsonl and evals/test.jsonl from the question list below.

Run: python evals/make_gold.py. Every gold text must occur verbatim (whitespace
collapsed) in its document; tests/test_gold.py checks that. The split is fixed:
questions alternate between dev (tuning) and test (reporting only) in the order
written, so both halves cover every document and question style.
"""
import json
from pathlib import Path

A = "aalborg-byraad-adfaerdskodeks"
R = "aarhus-byraad-samarbejdskodeks-2018-2021"
P = "aalborg-kommune-personalepolitik"
L = "aalborg-kommune-ledelsespolitik"
V = "albertslund-kommune-vaerdier"

Q = [
    # --- Aalborg Byråd, adfærdskodeks
    ("hvad siger kodekset om sociale medier?", [(A, "på sociale medier")]),
    ("Hvordan skal byrådsmedlemmer opføre sig på Facebook?", [(A, "på sociale medier")]),
    ("må politikere svine hinanden til online", [(A, "Vi taler og skriver ordentligt til, om og med hinanden")]),
    ("Er der nultolerance over for sexchikane i Aalborg byråd?", [(A, "nultolerance overfor sexistisk adfærd")]),
    ("hvad gør man hvis man oplever krænkende adfærd i byrådet", [(A, "flere muligheder for rådgivning og vejledning")]),
    ("Hvem kan byrådsmedlemmer kontakte for rådgivning?", [(A, "Kommunaldirektør, Tommy Christiansen"), (A, "Byrådssekretariatet")]),
    ("hvad er telefonnummeret til KLs hotline", [(A, "KLs hotline, 33 70 39 50")]),
    ("Hvorfor har Aalborg Byråd lavet et adfærdskodeks?", [(A, "Den vigtigste forudsætning for byrådets politiske arbejde er borgernes tillid")]),
    ("hvilke tre værdier har aalborg byråd", [(A, "I Aalborg Byråd har vi tre værdier")]),
    ("Hvordan ser byrådet på politisk uenighed?", [(A, "politiske uenigheder og forskelligheder som en styrke"), (R, "I byrådet kan vi være politisk uenige")]),
    ("skal man behandle folk ens uanset seksualitet og religion", [(A, "behandler andre med respekt uanset seksuel orientering"), (A, "uanset alder, køn, etnisk oprindelse, seksualitet, religion")]),
    ("Hvad betyder tillid i Aalborgs adfærdskodeks?", [(A, "Vi stoler på hinanden, siger hvad vi mener, og gør som vi siger")]),
    ("må man sige tingene ligeud", [(A, "Vi har mod til at sige tingene tydeligt og ligeud")]),
    ("skal byrådsmedlemmer være ambasadører for kommunen", [(A, "Vi optræder som ambassadører for kommunen")]),
    ("hvad siger kodekset om at sige fra", [(A, "Vi har alle et ansvar for at sige til og fra i tide"), (R, "Vi siger tydeligt fra overfor dårlig adfærd")]),
    ("Hvor mange medlemmer har Aalborg Byråd?", [(A, "vi er gode kollegaer alle 31")]),
    ("hvordan udvikler byrådet kommunen", [(A, "Vi udvikler Aalborg Kommune sammen i byrådet")]),
    ("Hænger adfærdskodekset sammen med personalepolitikken?", [(A, "Værdierne er nøje afstemt med indholdet i Aalborg Kommunes Personalepolitik")]),
    ("What does the Aalborg code of conduct say about social media?", [(A, "på sociale medier")]),
    ("står politikerne ved deres beslutninger", [(A, "Vi står ved vores beslutninger"), (R, "Vi står ved, det vi siger")]),
    ("hvor ligger byrådssekretariatet", [(A, "Boulevarden 13 9000 Aalborg")]),
    ("Skal byrådet være ærlige over for hinanden?", [(A, "Vi er ærlige, tro mod os selv og tro mod hinanden"), (R, "Vi er åbne og ærlige i vores møde med borgere")]),
    ("hvad siger kodekset om fortrolige oplysninger", [(A, "respekterer fortrolighed"), (R, "Vi overholder aftaler og respekterer fortrolighed")]),
    ("må man tale grimt om en kollega bag hans ryg", [(R, "taler ikke bag hinandens ryg"), (A, "Vi taler og skriver ordentligt til, om og med hinanden")]),
    ("hvilket signal sender kodekset til omverdenen", [(A, "Vi sender samtidig er klart signal til omverdenen")]),
    # --- Aarhus Byråd, samarbejdskodeks
    ("Hvad er Aarhus byråds tre værdier?", [(R, "Vi står ved, det vi siger"), (R, "Vi møder hinanden, borgere og samarbejdspartnere med respekt"), (R, "Vi engagerer os politisk, fagligt og socialt")]),
    ("hvad siger samarbejdskodekset om at tage æren for andres ideer", [(R, "Vi tager ikke æren for andres ideer")]),
    ("Hvad er politikerkortet?", [(R, "trække 'politikerkortet'")]),
    ("hvordan skal politikerne samarbejde med forvaltningen i aarhus", [(R, "Vores relationer til administrationen skal være præget af tillid og respekt for faglighed")]),
    ("Skal politiske drøftelser fylde mere end sagsbehandling?", [(R, "Politiske drøftelser skal fylde mere end sagsbehandling")]),
    ("hvordan inddrager aarhus byråd borgerne", [(R, "Vi er tydelige, når vi inddrager borgere")]),
    ("er det ok at være uenige i byrådet", [(R, "I byrådet kan vi være politisk uenige"), (A, "vi, populært sagt, er valgt til at være uenige")]),
    ("hvad betyder engagement for aarhus politikerne", [(R, "Vi engagerer os politisk, fagligt og socialt")]),
    ("skal politikerne være rollemodeller", [(R, "Vi går foran som rollemødder for byen og organisationen"), (L, "Være rollemodeller for en kultur")]),
    ("Hvad siger Aarhus om gennemsigtighed i processerne?", [(R, "Vores processer skal være gennemsigtige")]),
    ("fejrer man gode resultater selvom andre har lavet dem", [(R, "Vi anerkender og fejrer gode resultater")]),
    ("Samarbejder byrådet på tværs af udvalg?", [(R, "Vi samarbejder på tværs af udvalg og magistratsafdelinger")]),
    ("hvad med de sociale relationer i byrådet", [(R, "De sociale relationer i byrådet er vigtige for os")]),
    ("hvad gør aarhus-politikerne for at styrke fællesskabet", [(R, "Vi engagerer os i fællesskabet og prioriterer tid til at styrke det")]),
    ("hvordan møder byrådet borgere og samarbejdspartnere", [(R, "Vi møder hinanden, borgere og samarbejdspartnere med respekt")]),
    ("What does Aarhus city council promise about confidentiality?", [(R, "Vi overholder aftaler og respekterer fortrolighed")]),
    ("respekterer byrådet byrådet som institution", [(R, "Vi respekterer byrådet som rammen om politisk magt og indflydelse")]),
    ("laver man servicetjek på målene", [(R, "vi laver servicetjek undervejs")]),
    ("hvem har ansvaret for balancen mellem tid og involvering", [(R, "finde balancen mellem tid og involvering")]),
    ("kan man slukke for konflikterne", [(R, "Vi kan tænde og slukke for konflikterne undervejs")]),
    # --- Aalborg Kommune, personalepolitik
    ("hvad er formålet med personalepolitikken", [(P, "I Aalborg Kommune vil vi have gode arbejdspladser og god opgaveløsning")]),
    ("Hvornår blev Aalborgs personalepolitik opdateret?", [(P, "Opdateret: August 2018")]),
    ("hvilke fire principper bygger personalepolitikken på", [(P, "Personalepolitikkens 4 principper")]),
    ("hvad siger personalepolitikken om balance mellem arbejde og fritid", [(P, "balance mellem arbejdsliv og privatliv")]),
    ("kan jeg få hensyn hvis mit liv ændrer sig, fx skilsmisse eller sygdom i familien", [(P, "Vi respekterer og tager hensyn til skiftende livsomstændigheder")]),
    ("Hvad er social kapital i personalepolitikken?", [(P, "principperne i social kapital – som er samarbejde, tillid og retfærdighed")]),
    ("hvilke delpolitikker er der", [(P, "Delpolitik om Forandringer"), (P, "Delpolitik om Mangfoldighed")]),
    ("Er der en delpolitik om løn?", [(P, "Delpolitik om Løndannelse")]),
    ("findes der en politik om arbejdsmiljø i aalborg kommune", [(P, "Delpolitik om Arbejdsmiljø")]),
    ("hvad betyder fleksibilitet for medarbejderne", [(P, "Vi er parate til at arbejde med nye opgaver, arbejdsmetoder og roller"), (P, "er der behov for, at vi både oplever og udviser fleksibilitet")]),
    ("hvordan ser kommunen på handicap og mangfoldighed", [(P, "funktionsnedsættelser (handicap)")]),
    ("Skal vi stille spørgsmål ved \"vi plejer\"?", [(P, "stiller spørgsmål ved ”vi plejer”")]),
    ("hvad siger personalepolitikken om kompetenceudvikling", [(P, "løbende kompetenceudvikling"), (P, "Delpolitik om Kompetenceudvikling")]),
    ("hvordan skal vi dele viden på tværs", [(P, "Vi deler viden og samarbejder på tværs af fagområder og forvaltninger")]),
    ("hvad kendetegner arbejdet ifølge personalepolitikken? åbenhed?", [(P, "Åbenhed, tillid og dialog skal kendetegne arbejdet")]),
    ("Hvem kan jeg kontakte om personalepolitikken?", [(P, "HR og arbejdsmiljø")]),
    ("hvad er HR's telefonnummer i aalborg", [(P, "99 31 31 31"), (L, "99 31 31 31")]),
    ("hvad vil det sige at det skal give mening", [(P, "Vores handlinger skal give mening for medarbejdere")]),
    ("skal vi gøre det rigtige eller gøre det rigtigt", [(P, "Det handler ikke kun om at gøre det rigtigt, men også om at gøre det rigtige")]),
    ("tænker vi i helheder", [(P, "Vi arbejder og tænker i helheder og sammenhænge")]),
    ("hvordan bliver delpolitikkerne omsat i praksis", [(P, "Delpolitikkerne omsættes under hensyntagen til den enkelte forvaltnings drøftelser i MED")]),
    ("what does the personnel policy say about work-life balance", [(P, "balance mellem arbejdsliv og privatliv")]),
    ("hvad siger personalpolitiken om tværfaglighed", [(P, "Samarbejde og tværfaglighed er vigtige forudsætninger")]),
    ("skal borgerne inddrages i opgaveløsningen", [(P, "Vi inddrager og involverer borgere og relevante aktører"), (R, "Vi er tydelige, når vi inddrager borgere")]),
    ("er der en sundhedspolitik", [(P, "Delpolitik om Sundhed")]),
    # --- Aalborg Kommune, ledelsespolitik
    ("hvad er ledelsespolitikkens fire principper", [(L, "Ledelsespolitikken indeholder 4 principper")]),
    ("Hvornår blev ledelsespolitikken vedtaget?", [(L, "Vedtaget: af Direktørgruppen i oktober 2019")]),
    ("hvem har vedtaget ledelsespolitikken", [(L, "Vedtaget: af Direktørgruppen i oktober 2019")]),
    ("hvordan defineres ledelse", [(L, "Ledelse handler om at sætte retning og skabe resultater via og sammen med andre")]),
    ("hvad betyder det at sætte borgerne først", [(L, "Værdiskabelse for borgerne og samfundet er det centrale omdrejningspunkt i ledelse")]),
    ("må man lave fejl når man prøver noget nyt", [(L, "også selvom der sker fejl")]),
    ("hvad forventes der af en god personaleleder", [(L, "Ledere skal have lyst til at arbejde med og motivere mennesker"), (L, "Involvere, engagere og anerkende vores medarbejdere")]),
    ("skal ledere turde tage svære beslutninger", [(L, "turde tage vanskelige beslutninger")]),
    ("hvad bygger ledelsespolitikken på? ledelseskommisionen?", [(L, "Ledelseskommissionens arbejde")]),
    ("hvordan skaber lederne resultater", [(L, "Ledelse skaber resultater, der har effekt i forhold til borgerne og samfundet"), (L, "Følge op på om aktiviteter og indsatser skaber værdi")]),
    ("Hvad er kerneopgaven brugt til i ledelse?", [(L, "Bruge kerneopgaven som pejlemærke")]),
    ("Ingen er bedst alene - hvor står det?", [(L, "Ingen er bedst alene.")]),
    ("hvad er formålet med ledelsespolitikken", [(L, "Formålet med politikken er at markere principperne for god ledelse i Aalborg Kommune")]),
    ("skal lederen gå forrest", [(L, "Gå forrest, række ud og samarbejde på tværs")]),
    ("What are the leadership principles in Aalborg?", [(L, "Ledelsespolitikken indeholder 4 principper"), (L, "Vi sætter borgerne først")]),
    ("hvad betyder lederskab og medarbejderskab", [(L, "lederskab og medarbejderskab hinandens forudsætninger")]),
    ("skal medarbejderne møde borgerne hvor de er", [(L, "møde borgerne, hvor de er")]),
    ("hvad siger ledelsespolitikken om udviklingsmiljøer", [(L, "stærke udviklingsmiljøer")]),
    ("hvilke krav stilles der til ledere i aalborg", [(L, "Det stiller store krav til vores ledere")]),
    ("er helhedstænkning en del af ledelsen", [(L, "Helhedstænkning er en del af vores DNA og ledelse")]),
    # --- Albertslund, værdier
    ("hvad er albertslundværdierne", [(V, "Albertslundværdierne er kernen i vores personalepolitik")]),
    ("Hvad er den gensidige initiativpligt?", [(V, "Den gensidige initiativpligt er bærende")]),
    ("hvad betyder det professionelle råderum", [(V, "Med det professionelle råderum tager vi udgangspunkt i")]),
    ("hvad siger albertslund om mangfoldighed", [(V, "mangfoldigheden af fagligheder, aldre, køn, kulturer og baggrunde en styrke")]),
    ("hvordan ser albertslund kommune på trivsel", [(V, "I Albertslund Kommune betragter vi ikke trivsel som ekstra fryns")]),
    ("hvad er forholdet mellem medarbejder og nærmeste leder i albertslund", [(V, "den nære relation mellem den enkelte medarbejder og nærmeste leder")]),
    ("Hvilke mærkesager har Albertslund?", [(V, "tre mærkesager \"børn og unge\", \"kultur\" og \"miljø\"")]),
    ("hvad siger albertslund om demokrati på arbejdspladsen", [(V, "Demokrati eller det demokratiske grundlag forudsætter")]),
    ("bliver medarbejderne hørt og taget med på råd", [(V, "at vi bliver hørt, at vi bliver taget med på råd")]),
    ("hvad består albertslunds personalepolitik af", [(V, "kommunens samlede personalepolitik, som består af")]),
    ("er der retningslinjer for hvad man må og ikke må", [(V, "Retningslinjer for personale")]),
    ("hvad er albertslunds telefonnummer", [(V, "Tlf. 43 68 68 68")]),
    ("hvad skal værdierne bruges til", [(V, "udstikker værdierne retningen"), (V, "Værdierne, der bruges til at vise vejen")]),
    ("What is the basis of the close relationship in Albertslund?", [(V, "Forudsætningen for den nære relation er gensidig tillid")]),
    ("skal man være hjælpsom og nysgerrig", [(V, "respekt, hjælpsomhed og nysgerrighed")]),
    # --- across documents
    ("hvad siger kodekserne om respekt", [(A, "gensidig respekt og ligeværd"), (R, "med respekt")]),
    ("hvor står der noget om tillid", [(A, "Vi stoler på hinanden"), (P, "Åbenhed, tillid og dialog"), (V, "gensidig tillid")]),
    ("Hvad siger kommunerne om mangfoldighed og forskellighed?", [(A, "Vi værdsætter mangfoldighed"), (P, "Vi ser forskellighed og mangfoldighed som en styrke"), (V, "mangfoldigheden af fagligheder")]),
    ("hvad siger de om samarbejde på tværs", [(R, "Vi samarbejder på tværs af udvalg"), (P, "Vi deler viden og samarbejder på tværs"), (L, "samarbejde på tværs af organisatoriske og faglige grænser")]),
    ("hvordan skal vi behandle borgerne", [(R, "Vi møder hinanden, borgere og samarbejdspartnere med respekt"), (L, "møde borgerne, hvor de er"), (V, "møde borgeren i øjenhøjde")]),
    # --- not covered: such policies often do, these do not
    ("må jeg tage imod gaver fra borgere?", []),
    ("hvor mange sygedage må man have før man skal til samtale", []),
    ("må jeg have et bijob ved siden af mit job i kommunen", []),
    ("hvordan fungerer whistleblowerordningen", []),
    ("må man drikke alkohol til julefrokosten", []),
    ("hvor meget får byrådsmedlemmer i vederlag", []),
    ("hvad er reglerne for hjemmearbejde", []),
    ("hvor mange feriedage har jeg", []),
    ("hvad gør jeg hvis jeg er syg", []),
    ("må jeg ryge i arbejdstiden", []),
    ("hvordan søger jeg barselsorlov", []),
    ("hvad er reglerne for inhabilitet i sager", []),
    ("skal politikerne registrere deres økonomiske interesser", []),
    ("må jeg bruge kommunens bil privat", []),
    ("hvordan håndteres GDPR og persondata", []),
    ("hvad er pensionsordningen for ansatte", []),
    ("Can I accept a bottle of wine from a supplier?", []),
    ("hvornår er der byrådsmøde næste gang", []),
    ("hvad koster et parkeringskort i aalborg", []),
    ("hvilke regler gælder for rejser og repræsentation", []),
    ("må man tage kontorartikler med hjem", []),
    ("hvad er straffen for at bryde adfærdskodekset", []),
    ("hvordan indberetter jeg overarbejde", []),
    ("Is there a policy on working from home?", []),
    ("hvad er min løn som pædagog", []),
]


def main() -> None:
    here = Path(__file__).parent
    dev, test = [], []
    for i, (question, relevant) in enumerate(Q, start=1):
        row = {"id": f"q{i:03d}", "question": question,
               "relevant": [{"document": d, "text": t} for d, t in relevant]}
        (dev if i % 2 else test).append(row)
    for name, rows in (("dev", dev), ("test", test)):
        with open(here / f"{name}.jsonl", "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(Q)} questions: dev {len(dev)}, test {len(test)}, "
          f"unanswerable {sum(1 for _, r in Q if not r)}")


if __name__ == "__main__":
    main()
